-- Executions created on a node that does not own their machine: stored unclaimed (runner = ''), with what the create
-- request held that is never stored in clear (stdin, env values) sealed for the owner (AES-256-GCM under a key derived
-- from the cluster's server secret, the execution id as associated data). The owner claims the row (runner = its
-- process, sealed_input = NULL in the same write) and runs it. cancel_requested: a DELETE that reached another node;
-- the owner's runner ends the execution as cancelled.
ALTER TABLE executions ADD COLUMN sealed_input BLOB;
ALTER TABLE executions ADD COLUMN cancel_requested INTEGER NOT NULL DEFAULT 0;

CREATE INDEX executions_unclaimed ON executions(machine_id) WHERE runner = '' AND status IN ('wake_in_progress', 'queued', 'running');
