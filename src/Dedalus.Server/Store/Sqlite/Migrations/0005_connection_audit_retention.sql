-- The connection audit is bounded (retention and a per-machine cap, trimmed by every sweep) without a table scan:
-- rows past the retention are found oldest first through an index on ended_at, and machines over their cap through a
-- per-machine row count kept by triggers (so a restart or a lowered cap still finds every machine over it).
CREATE INDEX ssh_connections_ended ON ssh_connections(ended_at);

CREATE TABLE ssh_connection_counts (
    machine_id  TEXT PRIMARY KEY,
    row_count   INTEGER NOT NULL             -- rows of ssh_connections with this machine_id
) WITHOUT ROWID;
CREATE INDEX ssh_connection_counts_rows ON ssh_connection_counts(row_count);

INSERT INTO ssh_connection_counts (machine_id, row_count) SELECT machine_id, count(*) FROM ssh_connections GROUP BY machine_id;

CREATE TRIGGER ssh_connections_counted AFTER INSERT ON ssh_connections
BEGIN
    INSERT INTO ssh_connection_counts (machine_id, row_count) VALUES (NEW.machine_id, 1)
        ON CONFLICT (machine_id) DO UPDATE SET row_count = row_count + 1;
END;

CREATE TRIGGER ssh_connections_uncounted AFTER DELETE ON ssh_connections
BEGIN
    UPDATE ssh_connection_counts SET row_count = row_count - 1 WHERE machine_id = OLD.machine_id;
    DELETE FROM ssh_connection_counts WHERE machine_id = OLD.machine_id AND row_count <= 0;
END;
