-- Why the gateway cannot listen on a live machine's port right now (another process holds it), or NULL when it
-- listens; the API shows it as the machine's status (reason gateway_port_unavailable).
ALTER TABLE machines ADD COLUMN gateway_port_error TEXT;

-- A session waiting for its machine's gateway port (ssh_in_progress) is open too.
DROP INDEX ssh_sessions_open;
CREATE INDEX ssh_sessions_open ON ssh_sessions(status, expires_at) WHERE status IN ('ready', 'wake_in_progress', 'ssh_in_progress');
