-- Attempts per second of one run, for the console's sends-per-second chart:
-- the last @limit seconds in which the run sent anything. Reads the run's
-- deliveries and their attempts through their keys.
SELECT date_trunc('second', a.started_at) AS at, count(*)
FROM deliveries d
JOIN delivery_attempts a ON a.delivery_id = d.id
WHERE d.run_id = @run
GROUP BY 1
ORDER BY 1 DESC
LIMIT @limit
