-- Executions: commands run in machines through the API, and their events (status changes and output chunks, in
-- sequence order). Neither stdin nor the values of env are stored: the server holds them in memory until the command
-- has them. A live execution names the server process that drives it (runner): at start-up every live execution of
-- another one is ended (its process is gone with that server's pipes).
CREATE TABLE executions (
    seq                 INTEGER PRIMARY KEY AUTOINCREMENT,   -- list order and cursor position
    id                  TEXT NOT NULL UNIQUE,                -- ex-<32 hex>
    org_id              TEXT NOT NULL,
    machine_id          TEXT NOT NULL,
    status              TEXT NOT NULL,                       -- wake_in_progress, queued, running, succeeded, failed, cancelled
    command             TEXT NOT NULL,                       -- JSON array of strings
    cwd                 TEXT,
    env_keys            TEXT NOT NULL,                       -- JSON array of names
    timeout_ms          INTEGER NOT NULL,
    runner              TEXT NOT NULL,
    stream_id           TEXT NOT NULL,
    token_epoch         INTEGER NOT NULL DEFAULT 0,          -- log tokens of an older epoch are refused (logs/reauthorize)
    creation_request_id TEXT,
    creation_trace_id   TEXT,
    created_at          INTEGER NOT NULL,
    started_at          INTEGER,
    completed_at        INTEGER,
    expires_at          INTEGER,                             -- set when it ends: then retention deletes it
    exit_code           INTEGER,
    signal              INTEGER,
    error_code          TEXT,
    error_message       TEXT,
    stdout_bytes        INTEGER NOT NULL DEFAULT 0,          -- every byte written
    stderr_bytes        INTEGER NOT NULL DEFAULT 0,
    stdout_kept         INTEGER NOT NULL DEFAULT 0,          -- bytes kept in events (at most the bound)
    stderr_kept         INTEGER NOT NULL DEFAULT 0,
    capture_code        TEXT,                                -- why the kept log is not the whole output
    last_sequence       INTEGER NOT NULL DEFAULT 0
);

CREATE INDEX executions_machine ON executions(machine_id, seq);
CREATE INDEX executions_org_live ON executions(org_id) WHERE status IN ('wake_in_progress', 'queued', 'running');
CREATE INDEX executions_machine_live ON executions(machine_id) WHERE status IN ('wake_in_progress', 'queued', 'running');
CREATE INDEX executions_live ON executions(runner) WHERE status IN ('wake_in_progress', 'queued', 'running');
CREATE INDEX executions_expiry ON executions(expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE execution_events (
    execution_seq INTEGER NOT NULL REFERENCES executions(seq) ON DELETE CASCADE,
    sequence      INTEGER NOT NULL,                          -- from 1, without gaps, per execution
    type          TEXT NOT NULL,                             -- lifecycle, stdout, stderr
    at            INTEGER NOT NULL,
    chunk         BLOB,                                      -- UTF-8 text (output may hold NUL)
    status        TEXT,
    exit_code     INTEGER,
    signal        INTEGER,
    error_code    TEXT,
    error_message TEXT,
    PRIMARY KEY (execution_seq, sequence)
) WITHOUT ROWID;
