-- A pair's deliveries as CSV with a header, for the archive written before a
-- prune. It reads through the parent table (the daemon's role has no rights
-- on partitions); the run_created_at range prunes the scan to the one
-- partition. The range comes from archive_range.sql.
COPY (
    SELECT * FROM deliveries
    WHERE run_created_at >= current_setting('broadcaster.archive_from')::timestamptz
      AND run_created_at < current_setting('broadcaster.archive_to')::timestamptz
    ORDER BY id
) TO STDOUT (FORMAT csv, HEADER)
