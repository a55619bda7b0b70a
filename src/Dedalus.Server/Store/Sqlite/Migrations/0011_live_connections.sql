-- Live gateway connections, so that any node can list a machine's open SSH connections (issue #17). A table of its own
-- rather than ssh_connections rows with ended_at NULL: the audit's trim deletes oldest ended_at first and counts every
-- row against a machine's cap, and ended_at is NOT NULL; open rows there would be trimmed first, or change what the cap
-- means. Each node owns its rows (node_id, its gateway's connection id): it writes them all in one transaction per tick
-- (bytes refreshed), deletes one in the transaction that writes the connection's audit row, and deletes all of its own
-- at start (what was open when it stopped or crashed ended with it). Readers skip the rows of a lost node. Bounded by
-- the gateways' connection limits, not by time.
CREATE TABLE ssh_live_connections (
    node_id        TEXT NOT NULL,
    connection_id  INTEGER NOT NULL,
    machine_id     TEXT NOT NULL,
    session_id     TEXT,
    serial         INTEGER,
    peer           TEXT NOT NULL,
    started_at     INTEGER NOT NULL,
    bytes_in       INTEGER NOT NULL,             -- client to machine, so far
    bytes_out      INTEGER NOT NULL,             -- machine to client, so far
    updated_at     INTEGER NOT NULL,             -- when the node last wrote the row
    PRIMARY KEY (node_id, connection_id)
) WITHOUT ROWID;
CREATE INDEX ssh_live_connections_machine ON ssh_live_connections(machine_id);

-- A machine's connection history, newest first, paged by id.
CREATE INDEX ssh_connections_machine_id ON ssh_connections(machine_id, id);
