-- The console's Now page: the runs in progress (pending or running), newest
-- first, at most @limit. The counts are read by id afterwards
-- (progress_run_summaries.sql), where campaign_run_summary is cheap.
SELECT id
FROM campaign_runs
WHERE status IN ('pending', 'running')
ORDER BY id DESC
LIMIT @limit
