-- The global pause of sending (SPEC §6), read by every instance about once a
-- second: a pause one instance decides, and the resume its probe finds, reach
-- all of them through this one row. mine tells the reader whether the probe
-- in flight is its own. read_at is the clock the row's times are on (the
-- database's, or @now in tests), so that a reader whose own clock is skewed
-- compares them as offsets from it, never with its own time.
SELECT coalesce(@now::timestamptz, now()) AS read_at,
       since, paused_until, last_error, probe_owner, probe_until,
       coalesce(probe_owner = @owner, false) AS mine
FROM api_outage
