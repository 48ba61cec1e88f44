-- Deliveries that did not go out in the last 7 days, by final status and the
-- API's last code (NULL: no answer, e.g. a timeout), with an example error.
SELECT d.status,
       d.last_code,
       count(*)          AS deliveries,
       min(d.last_error) AS example_error
FROM deliveries d
WHERE d.status IN ('failed', 'unknown')
  AND d.updated_at >= now() - interval '7 days'
GROUP BY d.status, d.last_code
ORDER BY deliveries DESC, d.status, d.last_code
