-- campaign_run_summary, optionally for one campaign ($1) or one run ($2).
SELECT run_id, campaign_id, campaign_name, w_id, scheduled_for, status,
       total, sent, failed, unknown, pending, skipped, attempts,
       success_rate::float8 AS success_rate, started_at, finished_at
FROM campaign_run_summary
WHERE ($1::bigint IS NULL OR campaign_id = $1)
  AND ($2::bigint IS NULL OR run_id = $2)
ORDER BY run_id
