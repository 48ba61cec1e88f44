SELECT run_id, campaign_id, total, sent, failed, unknown, pending, skipped, attempts
FROM campaign_run_summary
WHERE run_id = $1
