-- The summaries of the runs @runs, for progress and completion log
-- lines: campaign_run_summary's counts, so the log and the reports agree.
SELECT run_id, campaign_id, campaign_name, w_id, status, scheduled_for,
       total, sent, failed, unknown, pending, skipped, attempts,
       started_at, finished_at
FROM campaign_run_summary
WHERE run_id = ANY (@runs::bigint[])
ORDER BY run_id
