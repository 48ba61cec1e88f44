-- A pair's delivery attempts as CSV with a header, as archive_deliveries.sql
-- does for its deliveries.
COPY (
    SELECT * FROM delivery_attempts
    WHERE run_created_at >= current_setting('broadcaster.archive_from')::timestamptz
      AND run_created_at < current_setting('broadcaster.archive_to')::timestamptz
    ORDER BY id
) TO STDOUT (FORMAT csv, HEADER)
