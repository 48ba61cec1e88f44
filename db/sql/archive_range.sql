-- COPY takes no bind parameters, so the range of the pair being archived is
-- bound here, by name, into transaction-local settings that
-- archive_deliveries.sql and archive_attempts.sql read. '-infinity' as @from
-- takes in the legacy rows.
SELECT set_config('broadcaster.archive_from', @from::timestamptz::text, true),
       set_config('broadcaster.archive_to', @to::timestamptz::text, true)
