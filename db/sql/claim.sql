-- Claims up to $1 due deliveries of active campaigns for this process ($2),
-- leased for $3 milliseconds. SKIP LOCKED lets several instances claim at once
-- without waiting on, or ever taking, each other's rows. The attempt counter
-- moves at claim time, so a late result can be matched to its attempt.
WITH due AS (
    SELECT d.id
    FROM deliveries d
    JOIN campaigns c ON c.id = d.campaign_id
    WHERE d.status = 'pending'
      AND d.next_attempt_at <= now()
      AND c.status = 'active'
    ORDER BY d.next_attempt_at, d.id
    LIMIT $1
    FOR UPDATE OF d SKIP LOCKED
), claimed AS (
    UPDATE deliveries d
    SET status = 'sending',
        attempts = d.attempts + 1,
        claimed_by = $2,
        lease_until = now() + $3 * interval '1 millisecond',
        updated_at = now()
    FROM due
    WHERE d.id = due.id
    RETURNING d.id, d.run_id, d.campaign_id, d.wc_id, d.attempts
), started AS (
    UPDATE campaign_runs r
    SET status = 'running', started_at = coalesce(r.started_at, now())
    WHERE r.id IN (SELECT run_id FROM claimed) AND r.status = 'pending'
)
SELECT cl.id, cl.run_id, cl.campaign_id, cl.wc_id, c.w_id, cl.attempts, r.scheduled_for
FROM claimed cl
JOIN campaigns c ON c.id = cl.campaign_id
JOIN campaign_runs r ON r.id = cl.run_id
ORDER BY cl.id
