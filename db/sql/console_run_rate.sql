-- Attempts per second of one run, for the console's sends-per-second chart:
-- the last @limit seconds in which the run sent anything, among the attempts
-- of its @deliveries most recently updated deliveries, so that a large run
-- costs one pass over its own rows and a bounded number of attempt lookups
-- (through the (delivery_id, attempt) key).
WITH recent AS (
    SELECT id
    FROM deliveries
    WHERE run_id = @run AND attempts > 0
    ORDER BY updated_at DESC
    LIMIT @deliveries
)
SELECT date_trunc('second', a.started_at) AS at, count(*)
FROM recent d
-- Per delivery through its key; the LIMIT (no delivery has more attempts
-- than retry.max_attempts allows) keeps the planner from hashing the whole
-- attempts table instead.
CROSS JOIN LATERAL (
    SELECT started_at FROM delivery_attempts x WHERE x.delivery_id = d.id ORDER BY x.attempt LIMIT 1000
) a
GROUP BY 1
ORDER BY 1 DESC
LIMIT @limit
