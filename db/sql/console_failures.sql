-- A run's failed and unknown deliveries grouped by last API code and error,
-- largest groups first, for the console's run page. Reads that run's rows
-- only; at most @limit groups.
SELECT status, coalesce(last_code, ''), coalesce(last_error, ''), count(*)
FROM deliveries
WHERE run_id = @run AND status IN ('failed', 'unknown')
GROUP BY status, last_code, last_error
ORDER BY count(*) DESC, status, last_code
LIMIT @limit
