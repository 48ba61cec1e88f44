-- The global pause of sending (SPEC §6), read by every instance about once a
-- second: a pause one instance decides, and the resume its probe finds, reach
-- all of them through this one row. mine tells the reader whether the probe
-- in flight is its own.
SELECT since, paused_until, last_error, probe_owner, probe_until,
       coalesce(probe_owner = @owner, false) AS mine
FROM api_outage
