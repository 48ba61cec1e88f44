-- The last runs of one campaign, one row per run: what `broadcaster report`
-- prints, from the campaign_run_summary view.
SELECT run_id, scheduled_for, status, total, sent, failed, unknown, pending, skipped,
       attempts, success_rate, started_at, finished_at
FROM campaign_run_summary
WHERE campaign_name = 'vip nightly'
ORDER BY scheduled_for DESC
LIMIT 10
