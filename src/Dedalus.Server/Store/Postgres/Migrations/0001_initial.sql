-- The whole schema of the SQLite store's migrations 0001..0008, in PostgreSQL types. Timestamps stay Unix
-- milliseconds (UTC) in bigint columns, as in SQLite, so both stores compare and page on the same numbers. Ids are the
-- wire ids. seq columns are identities: list order and cursor position (see PostgresStore for why a page never skips a
-- row that commits late). Flags are booleans; SQLite keeps them as 0/1.
CREATE TABLE orgs (
    id          text PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    created_at  bigint NOT NULL,
    autoresize  boolean NOT NULL DEFAULT false     -- the org's RAM autoresizing policy
);

CREATE TABLE api_keys (
    key_hash    bytea PRIMARY KEY,                 -- SHA-256 of the key; the key itself is never stored
    key_prefix  text NOT NULL,                     -- first characters, to tell keys apart in audits
    org_id      text NOT NULL REFERENCES orgs(id),
    created_at  bigint NOT NULL,
    revoked_at  bigint
);

CREATE TABLE machines (
    seq                         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id                          text NOT NULL UNIQUE,
    org_id                      text NOT NULL REFERENCES orgs(id),
    vcpu                        double precision NOT NULL,
    memory_mib                  bigint NOT NULL,
    storage_gib                 bigint NOT NULL,
    autosleep_seconds           bigint NOT NULL,
    desired_state               text NOT NULL,
    phase                       text NOT NULL,
    reason                      text NOT NULL,
    retryable                   boolean NOT NULL,
    last_error                  text,
    revision                    bigint NOT NULL,
    gateway_port                integer NOT NULL,
    gateway_port_error          text,              -- why the gateway cannot listen on the port now; NULL when it listens
    resources_dirty             boolean NOT NULL DEFAULT false,  -- a PATCH changed limits the runtime has not applied yet
    created_at                  bigint NOT NULL,
    last_transition_at          bigint NOT NULL,
    last_progress_at            bigint NOT NULL,
    last_activity_at            bigint NOT NULL,
    name                        text,              -- unique among the org's machines that are not destroyed
    reboot                      text,              -- 'graceful' or 'force' while a reboot is pending
    autoresize                  boolean,           -- the machine's own switch; NULL follows the org's policy
    memory_autoresized_mib      bigint NOT NULL DEFAULT 0,
    memory_last_autoresized_at  bigint,
    memory_resize_state         text,
    network_address             text,              -- given at first provisioning, kept for the machine's life
    network_policy              text               -- the wire's `network` JSON without the address; NULL: open
);
CREATE INDEX machines_org ON machines(org_id, seq);
CREATE INDEX machines_port ON machines(gateway_port) WHERE desired_state <> 'destroyed';
-- The lowest free gateway port: a port is free once its machine is destroyed (phase), not merely asked to be.
CREATE INDEX machines_port_live ON machines(gateway_port) WHERE phase <> 'destroyed';
CREATE INDEX machines_org_live ON machines(org_id) WHERE phase <> 'destroyed';
CREATE INDEX machines_storage_live ON machines(storage_gib) WHERE phase <> 'destroyed';
CREATE UNIQUE INDEX machines_org_name ON machines(org_id, name) WHERE name IS NOT NULL AND desired_state <> 'destroyed';
CREATE UNIQUE INDEX machines_network_address ON machines(network_address) WHERE network_address IS NOT NULL AND phase <> 'destroyed';

CREATE TABLE machine_events (
    seq         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,  -- SSE event id
    machine_id  text NOT NULL,
    revision    bigint NOT NULL,
    payload     text NOT NULL,                     -- the machine JSON at that revision
    created_at  bigint NOT NULL
);
CREATE INDEX machine_events_machine ON machine_events(machine_id, seq);
CREATE INDEX machine_events_created ON machine_events(created_at);

CREATE TABLE ssh_sessions (
    seq            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id             text NOT NULL UNIQUE,
    org_id         text NOT NULL,
    machine_id     text NOT NULL,
    status         text NOT NULL,
    public_key     text NOT NULL,
    serial         bigint NOT NULL UNIQUE,          -- the certificate's uint64 serial, stored as its two's complement
    certificate    text,
    created_at     bigint NOT NULL,
    ready_at       bigint,
    expires_at     bigint NOT NULL,
    closed_at      bigint,
    error_code     text,
    error_message  text
);
CREATE INDEX ssh_sessions_machine ON ssh_sessions(machine_id, seq);
CREATE INDEX ssh_sessions_open ON ssh_sessions(status, expires_at) WHERE status IN ('ready', 'wake_in_progress', 'ssh_in_progress');
CREATE INDEX ssh_sessions_org_live ON ssh_sessions(org_id, expires_at) WHERE status IN ('ready', 'wake_in_progress', 'ssh_in_progress');

-- The connection audit is bounded (retention and a per-machine cap) without a table scan: rows past the retention are
-- found oldest first through ssh_connections_ended, machines over their cap through a per-machine row count that
-- triggers keep.
CREATE TABLE ssh_connections (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    machine_id   text NOT NULL,
    session_id   text,
    serial       bigint,
    peer         text NOT NULL,
    started_at   bigint NOT NULL,
    ended_at     bigint NOT NULL,
    bytes_in     bigint NOT NULL,                  -- client to machine
    bytes_out    bigint NOT NULL,                  -- machine to client
    end_reason   text NOT NULL,
    detail       text
);
CREATE INDEX ssh_connections_machine ON ssh_connections(machine_id, ended_at);
CREATE INDEX ssh_connections_ended ON ssh_connections(ended_at);

CREATE TABLE ssh_connection_counts (
    machine_id  text PRIMARY KEY,
    row_count   bigint NOT NULL                    -- rows of ssh_connections with this machine_id
);
CREATE INDEX ssh_connection_counts_rows ON ssh_connection_counts(row_count);

CREATE FUNCTION ssh_connections_counted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ssh_connection_counts (machine_id, row_count) VALUES (NEW.machine_id, 1)
        ON CONFLICT (machine_id) DO UPDATE SET row_count = ssh_connection_counts.row_count + 1;
    RETURN NULL;
END;
$$;

CREATE FUNCTION ssh_connections_uncounted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE ssh_connection_counts SET row_count = row_count - 1 WHERE machine_id = OLD.machine_id;
    DELETE FROM ssh_connection_counts WHERE machine_id = OLD.machine_id AND row_count <= 0;
    RETURN NULL;
END;
$$;

CREATE TRIGGER ssh_connections_counted AFTER INSERT ON ssh_connections FOR EACH ROW EXECUTE FUNCTION ssh_connections_counted();
CREATE TRIGGER ssh_connections_uncounted AFTER DELETE ON ssh_connections FOR EACH ROW EXECUTE FUNCTION ssh_connections_uncounted();

CREATE TABLE idempotency_records (
    org_id                text NOT NULL,
    key                   text NOT NULL,
    request_hash          text NOT NULL,
    state                 smallint NOT NULL,       -- 0 in flight, 1 completed
    status_code           integer,
    etag                  text,
    content_type          text,
    body                  bytea,
    created_at            bigint NOT NULL,
    storage_operation_id  text,                    -- the X-Dedalus-Storage-Operation-Id of the first answer
    PRIMARY KEY (org_id, key)
);
CREATE INDEX idempotency_records_created ON idempotency_records(created_at);

CREATE TABLE revocations (
    serial      bigint PRIMARY KEY,
    session_id  text NOT NULL,
    revoked_at  bigint NOT NULL,
    expires_at  bigint NOT NULL                    -- after this the certificate is invalid anyway
);
CREATE INDEX revocations_expires ON revocations(expires_at);

-- Per-org quota overrides (a quota without a row takes the server's default) and the settings the running server uses.
CREATE TABLE org_quotas (
    org_id      text NOT NULL REFERENCES orgs(id),
    quota       text NOT NULL,                     -- machines, vcpu, memory_mib, storage_gib, sessions, executions
    value       text NOT NULL,                     -- '5', '2.5', '25%' or 'unlimited'
    updated_at  bigint NOT NULL,
    PRIMARY KEY (org_id, quota)
);

CREATE TABLE server_settings (
    key         text PRIMARY KEY,                  -- a configuration key, e.g. QuotaMachines
    value       text NOT NULL,
    updated_at  bigint NOT NULL
);

-- Executions and their events; neither stdin nor the values of env are stored (see the SQLite migration 0006).
CREATE TABLE executions (
    seq                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id                  text NOT NULL UNIQUE,      -- ex-<32 hex>
    org_id              text NOT NULL,
    machine_id          text NOT NULL,
    status              text NOT NULL,             -- wake_in_progress, queued, running, succeeded, failed, cancelled
    command             text NOT NULL,             -- JSON array of strings
    cwd                 text,
    env_keys            text NOT NULL,             -- JSON array of names
    timeout_ms          bigint NOT NULL,
    runner              text NOT NULL,
    stream_id           text NOT NULL,
    token_epoch         integer NOT NULL DEFAULT 0,
    creation_request_id text,
    creation_trace_id   text,
    created_at          bigint NOT NULL,
    started_at          bigint,
    completed_at        bigint,
    expires_at          bigint,                    -- set when it ends: then retention deletes it
    exit_code           integer,
    signal              integer,
    error_code          text,
    error_message       text,
    stdout_bytes        bigint NOT NULL DEFAULT 0,
    stderr_bytes        bigint NOT NULL DEFAULT 0,
    stdout_kept         bigint NOT NULL DEFAULT 0,
    stderr_kept         bigint NOT NULL DEFAULT 0,
    capture_code        text,
    last_sequence       bigint NOT NULL DEFAULT 0
);
CREATE INDEX executions_machine ON executions(machine_id, seq);
CREATE INDEX executions_org_live ON executions(org_id) WHERE status IN ('wake_in_progress', 'queued', 'running');
CREATE INDEX executions_machine_live ON executions(machine_id) WHERE status IN ('wake_in_progress', 'queued', 'running');
CREATE INDEX executions_live ON executions(runner) WHERE status IN ('wake_in_progress', 'queued', 'running');
CREATE INDEX executions_expiry ON executions(expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE execution_events (
    execution_seq bigint NOT NULL REFERENCES executions(seq) ON DELETE CASCADE,
    sequence      bigint NOT NULL,                 -- from 1, without gaps, per execution
    type          text NOT NULL,                   -- lifecycle, stdout, stderr
    at            bigint NOT NULL,
    chunk         bytea,                           -- UTF-8 text (output may hold NUL, which text cannot)
    status        text,
    exit_code     integer,
    signal        integer,
    error_code    text,
    error_message text,
    PRIMARY KEY (execution_seq, sequence)
);
