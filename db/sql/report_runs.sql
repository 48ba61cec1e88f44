-- campaign_run_summary, optionally for one campaign (@campaign_id) or one run (@run_id).
SELECT run_id, campaign_id, campaign_name, w_id, scheduled_for, status,
       total, sent, failed, unknown, pending, skipped, attempts,
       success_rate::float8 AS success_rate, started_at, finished_at
FROM campaign_run_summary
WHERE (@campaign_id::bigint IS NULL OR campaign_id = @campaign_id)
  AND (@run_id::bigint IS NULL OR run_id = @run_id)
ORDER BY run_id
