-- Initial schema. Timestamps are Unix milliseconds (UTC). Ids are the wire ids.
CREATE TABLE orgs (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL
);

CREATE TABLE api_keys (
    key_hash    BLOB PRIMARY KEY,           -- SHA-256 of the key; the key itself is never stored
    key_prefix  TEXT NOT NULL,              -- first characters, to tell keys apart in audits
    org_id      TEXT NOT NULL REFERENCES orgs(id),
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);

CREATE TABLE machines (
    seq                 INTEGER PRIMARY KEY AUTOINCREMENT,  -- list order and cursor position
    id                  TEXT NOT NULL UNIQUE,
    org_id              TEXT NOT NULL REFERENCES orgs(id),
    vcpu                REAL NOT NULL,
    memory_mib          INTEGER NOT NULL,
    storage_gib         INTEGER NOT NULL,
    autosleep_seconds   INTEGER NOT NULL,
    desired_state       TEXT NOT NULL,
    phase               TEXT NOT NULL,
    reason              TEXT NOT NULL,
    retryable           INTEGER NOT NULL,
    last_error          TEXT,
    revision            INTEGER NOT NULL,
    gateway_port        INTEGER NOT NULL,
    resources_dirty     INTEGER NOT NULL DEFAULT 0,  -- a PATCH changed limits the runtime has not applied yet
    created_at          INTEGER NOT NULL,
    last_transition_at  INTEGER NOT NULL,
    last_progress_at    INTEGER NOT NULL,
    last_activity_at    INTEGER NOT NULL
);
CREATE INDEX machines_org ON machines(org_id, seq);
CREATE INDEX machines_port ON machines(gateway_port) WHERE desired_state <> 'destroyed';

CREATE TABLE machine_events (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,  -- SSE event id
    machine_id  TEXT NOT NULL,
    revision    INTEGER NOT NULL,
    payload     TEXT NOT NULL,                      -- the machine JSON at that revision
    created_at  INTEGER NOT NULL
);
CREATE INDEX machine_events_machine ON machine_events(machine_id, seq);

CREATE TABLE ssh_sessions (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    id             TEXT NOT NULL UNIQUE,
    org_id         TEXT NOT NULL,
    machine_id     TEXT NOT NULL,
    status         TEXT NOT NULL,
    public_key     TEXT NOT NULL,
    serial         INTEGER NOT NULL UNIQUE,
    certificate    TEXT,
    created_at     INTEGER NOT NULL,
    ready_at       INTEGER,
    expires_at     INTEGER NOT NULL,
    closed_at      INTEGER,
    error_code     TEXT,
    error_message  TEXT
);
CREATE INDEX ssh_sessions_machine ON ssh_sessions(machine_id, seq);
CREATE INDEX ssh_sessions_open ON ssh_sessions(status, expires_at) WHERE status IN ('ready', 'wake_in_progress');

CREATE TABLE ssh_connections (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    machine_id   TEXT NOT NULL,
    session_id   TEXT,
    serial       INTEGER,
    peer         TEXT NOT NULL,
    started_at   INTEGER NOT NULL,
    ended_at     INTEGER NOT NULL,
    bytes_in     INTEGER NOT NULL,           -- client to machine
    bytes_out    INTEGER NOT NULL,           -- machine to client
    end_reason   TEXT NOT NULL,
    detail       TEXT
);
CREATE INDEX ssh_connections_machine ON ssh_connections(machine_id, ended_at);

CREATE TABLE idempotency_records (
    org_id        TEXT NOT NULL,
    key           TEXT NOT NULL,
    request_hash  TEXT NOT NULL,
    state         INTEGER NOT NULL,   -- 0 in flight, 1 completed
    status_code   INTEGER,
    etag          TEXT,
    content_type  TEXT,
    body          BLOB,
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (org_id, key)
) WITHOUT ROWID;

CREATE TABLE revocations (
    serial      INTEGER PRIMARY KEY,
    session_id  TEXT NOT NULL,
    revoked_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL      -- after this the certificate is invalid anyway
);
