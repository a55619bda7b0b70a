-- Nodes: each dedalus-server sharing this database, with its gateway and the capacity placement may commit on it.
-- heartbeat_at: the node's last sign of life (Unix ms). ca_fingerprint: its user CA's and host CA master's fingerprints
-- (every node must have the same). machines.node_id: the node a machine is placed on, the only one driving its runtime.
CREATE TABLE nodes (
    id                 text PRIMARY KEY,
    name               text NOT NULL,
    gateway_hosts      text NOT NULL,
    gateway_port_low   integer NOT NULL,
    gateway_port_high  integer NOT NULL,
    vcpu               double precision NOT NULL,
    memory_mib         bigint NOT NULL,
    storage_gib        bigint NOT NULL,
    started_at         bigint NOT NULL,
    heartbeat_at       bigint NOT NULL,
    ca_fingerprint     text NOT NULL
);

ALTER TABLE machines ADD COLUMN node_id text;
CREATE INDEX machines_node_port ON machines (node_id, gateway_port) WHERE phase <> 'destroyed';
