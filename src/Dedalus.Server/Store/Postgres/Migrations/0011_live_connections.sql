-- Live gateway connections (the SQLite store's 0011, numbered alike), so that any node can list a machine's open SSH
-- connections. A table of its own rather than ssh_connections rows with ended_at NULL: the audit's trim deletes oldest
-- ended_at first and counts every row against a machine's cap. Each node owns its rows (node_id, its gateway's
-- connection id): one transaction per tick writes them all, the transaction of a connection's audit row deletes its
-- row, and a node deletes all of its own at start. Readers skip the rows of a lost node.
CREATE TABLE ssh_live_connections (
    node_id        text NOT NULL,
    connection_id  bigint NOT NULL,
    machine_id     text NOT NULL,
    session_id     text,
    serial         bigint,
    peer           text NOT NULL,
    started_at     bigint NOT NULL,
    bytes_in       bigint NOT NULL,              -- client to machine, so far
    bytes_out      bigint NOT NULL,              -- machine to client, so far
    updated_at     bigint NOT NULL,              -- when the node last wrote the row
    PRIMARY KEY (node_id, connection_id)
);
CREATE INDEX ssh_live_connections_machine ON ssh_live_connections(machine_id);

-- A machine's connection history, newest first, paged by id.
CREATE INDEX ssh_connections_machine_id ON ssh_connections(machine_id, id);
