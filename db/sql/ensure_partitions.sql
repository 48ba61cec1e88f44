-- Creates the monthly partition pairs from @now's month to @months_ahead
-- months after it that are missing, so that new runs never land in the
-- DEFAULT partition. Idempotent and safe from several instances at once; the
-- function is the owner's (SECURITY DEFINER), so the daemon's role may call it.
SELECT broadcaster_ensure_partitions(coalesce(@now::timestamptz, now()), @months_ahead::int)
