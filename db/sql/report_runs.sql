-- campaign_run_summary, optionally for one campaign (@campaign_id) or one run (@run_id),
-- and, last so that columns read by position keep theirs, resend_of: the run
-- a resend repeats (NULL for a firing), read from campaign_runs so that the
-- summary view stays as it is.
SELECT s.run_id, s.campaign_id, s.campaign_name, s.w_id, s.scheduled_for, s.status,
       s.total, s.sent, s.failed, s.unknown, s.pending, s.skipped, s.attempts,
       s.success_rate::float8 AS success_rate, s.started_at, s.finished_at,
       r.resend_of
FROM campaign_run_summary s
JOIN campaign_runs r ON r.id = s.run_id
WHERE (@campaign_id::bigint IS NULL OR s.campaign_id = @campaign_id)
  AND (@run_id::bigint IS NULL OR s.run_id = @run_id)
ORDER BY s.run_id
