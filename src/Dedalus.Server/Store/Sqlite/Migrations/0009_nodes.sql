-- Nodes: each dedalus-server that shares this store, with its gateway and the capacity placement may commit on it
-- (an embedded store has exactly one). heartbeat_at: the node's last sign of life (Unix ms).
-- machines.node_id: the node a machine is placed on, the only one that drives its runtime; rows stored before nodes
-- existed are given to the node that registers (RegisterNodeAsync).
CREATE TABLE nodes (
    id                 TEXT PRIMARY KEY,
    name               TEXT NOT NULL,
    gateway_hosts      TEXT NOT NULL,      -- comma-separated, the first is the sessions' endpoint
    gateway_port_low   INTEGER NOT NULL,
    gateway_port_high  INTEGER NOT NULL,
    vcpu               REAL NOT NULL,
    memory_mib         INTEGER NOT NULL,
    storage_gib        INTEGER NOT NULL,
    started_at         INTEGER NOT NULL,
    heartbeat_at       INTEGER NOT NULL,
    ca_fingerprint     TEXT NOT NULL       -- the user CA's and the host CA master's fingerprints: every node must have the same
);

ALTER TABLE machines ADD COLUMN node_id TEXT;
CREATE INDEX machines_node ON machines(node_id, gateway_port) WHERE phase <> 'destroyed';
