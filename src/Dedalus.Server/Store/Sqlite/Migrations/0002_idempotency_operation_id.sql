-- A replayed mutation answers with the X-Dedalus-Storage-Operation-Id header of the first answer too.
ALTER TABLE idempotency_records ADD COLUMN storage_operation_id TEXT;
