-- Browser sessions of the web console (/console), as the SQLite store's 0012. The cookie holds a random 256-bit token;
-- only its SHA-256 is kept. api_key_hash names the key the session was signed in with: a session whose key is revoked
-- or deleted is no session (lookups join the live key; a deleted key takes its sessions with it). expires_at is the
-- absolute end, idle_expires_at moves with use (never past expires_at). csrf_token is the synchronizer token the
-- console's pages send back on every mutation.
CREATE TABLE console_sessions (
    id               text PRIMARY KEY,
    token_hash       bytea NOT NULL UNIQUE,
    org_id           text NOT NULL REFERENCES orgs(id),
    api_key_hash     bytea NOT NULL REFERENCES api_keys(key_hash) ON DELETE CASCADE,
    csrf_token       text NOT NULL,
    created_at       bigint NOT NULL,
    last_seen_at     bigint NOT NULL,
    expires_at       bigint NOT NULL,
    idle_expires_at  bigint NOT NULL
);

CREATE INDEX console_sessions_api_key ON console_sessions(api_key_hash);
CREATE INDEX console_sessions_expiry ON console_sessions(idle_expires_at);
