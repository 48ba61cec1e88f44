-- Creates the monthly partitions of deliveries and delivery_attempts that
-- are missing from the month of @now (NULL: the database's clock) to
-- @months_ahead months later, and returns how many months it created
-- (migration 0008's broadcaster_ensure_partitions: idempotent, and safe
-- from several instances at once).
SELECT broadcaster_ensure_partitions(coalesce(@now::timestamptz, now()), @months_ahead::int)
