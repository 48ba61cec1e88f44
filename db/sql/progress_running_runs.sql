-- The runs being sent now, for the progress log. Their counts are read
-- separately by id (progress_run_summaries.sql): given the ids as a parameter,
-- the planner pushes them into campaign_run_summary and counts each run
-- through the deliveries (run_id, wc_id) index, where a join on status would
-- scan every delivery ever made.
SELECT id
FROM campaign_runs
WHERE status = 'running'
ORDER BY id
