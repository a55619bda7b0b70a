-- Machine names: optional, unique among an org's machines that are not destroyed (a destroyed machine's name is free).
ALTER TABLE machines ADD COLUMN name TEXT;
CREATE UNIQUE INDEX machines_org_name ON machines(org_id, name) WHERE name IS NOT NULL AND desired_state <> 'destroyed';

-- A reboot asked for and not done yet: 'graceful' (processes get SIGTERM and a grace) or 'force'; NULL when none.
ALTER TABLE machines ADD COLUMN reboot TEXT;

-- RAM autoresizing. autoresize: the machine's own switch (0/1), NULL = the org's policy. memory_autoresized_mib: MiB
-- added to memory_mib by completed automatic increases (reset when memory_mib is changed by a caller).
ALTER TABLE machines ADD COLUMN autoresize INTEGER;
ALTER TABLE machines ADD COLUMN memory_autoresized_mib INTEGER NOT NULL DEFAULT 0;
ALTER TABLE machines ADD COLUMN memory_last_autoresized_at INTEGER;
ALTER TABLE machines ADD COLUMN memory_resize_state TEXT;
ALTER TABLE orgs ADD COLUMN autoresize INTEGER NOT NULL DEFAULT 0;
