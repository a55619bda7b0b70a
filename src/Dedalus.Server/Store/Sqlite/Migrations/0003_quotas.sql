-- Per-org quota overrides (one row per org and quota; a quota without a row takes the server's default), the
-- settings the running server uses (for `dedalus-server quota show`), and indexes for the admission reads.
CREATE TABLE org_quotas (
    org_id      TEXT NOT NULL REFERENCES orgs(id),
    quota       TEXT NOT NULL,               -- machines, vcpu, memory_mib, storage_gib, sessions
    value       TEXT NOT NULL,               -- '5', '2.5', '25%' or 'unlimited'
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (org_id, quota)
) WITHOUT ROWID;

CREATE TABLE server_settings (
    key         TEXT PRIMARY KEY,            -- a configuration key, e.g. QuotaMachines
    value       TEXT NOT NULL,
    updated_at  INTEGER NOT NULL
) WITHOUT ROWID;

-- An org's machines that count against its quotas (until destroyed: their port and image exist until then).
CREATE INDEX machines_org_live ON machines(org_id) WHERE phase <> 'destroyed';
-- Storage committed on the host (covering: the sum reads the index only).
CREATE INDEX machines_storage_live ON machines(storage_gib) WHERE phase <> 'destroyed';
-- An org's live sessions.
CREATE INDEX ssh_sessions_org_live ON ssh_sessions(org_id, expires_at) WHERE status IN ('ready', 'wake_in_progress', 'ssh_in_progress');
