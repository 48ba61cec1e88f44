-- The attempts of the deliveries @deliveries with the API's raw answers,
-- for the console's recipient page; at most @limit, by delivery and attempt.
SELECT delivery_id, attempt, started_at, duration_ms, coalesce(http_status, 0),
       coalesce(code, ''), coalesce(outcome, ''), coalesce(error, ''), coalesce(response, '')
FROM delivery_attempts
WHERE delivery_id = ANY (@deliveries::bigint[])
ORDER BY delivery_id DESC, attempt
LIMIT @limit
