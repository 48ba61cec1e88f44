-- Recipients the last run of one campaign did not reach, and why: skipped
-- (suppressed, malformed wcId, campaign cancelled), failed, unknown, or
-- still pending. Put the campaign's name in the first CTE.
WITH last_run AS (
    SELECT r.id
    FROM campaign_runs r
    JOIN campaigns c ON c.id = r.campaign_id
    WHERE c.name = 'vip nightly'
    ORDER BY r.scheduled_for DESC
    LIMIT 1
)
SELECT d.wc_id, d.status, d.attempts, d.last_code, d.last_error
FROM deliveries d
JOIN last_run ON d.run_id = last_run.id
WHERE d.status <> 'sent'
ORDER BY d.status, d.wc_id
