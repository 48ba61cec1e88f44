-- What is left to send for the campaigns that send (sending_campaigns:
-- active ones, and completed ones with an open resend run) — how many have pending
-- deliveries, how many deliveries are being sent — and how long (ms) until the
-- earliest pending delivery may go: its own backoff, and its account's pacing
-- (jitter pause, token refill at @rate per second, breaker rest).
--   @rate per second (0: unlimited)   @breaker_failures (0: off)
--   @cool_down_ms
-- @now is the time to measure from; NULL (production) means the database's
-- clock, as in claim.sql.
-- Each active campaign's earliest pending delivery is one step down
-- deliveries_pending_idx, so this costs the same whatever the backlog.
WITH pending AS (
    SELECT c.w_id, p.next_at
    FROM sending_campaigns c
    CROSS JOIN LATERAL (
        SELECT min(d.next_attempt_at) AS next_at
        FROM deliveries d
        WHERE d.campaign_id = c.id AND d.status = 'pending'
    ) p
    WHERE p.next_at IS NOT NULL
), ready AS (
    -- An account without a row yet has nothing to wait for.
    SELECT greatest(p.next_at,
                    broadcaster_account_ready_at(a.not_before, a.paused_until, a.probe_until, a.tokens,
                                                 a.refilled_at, a.consecutive_failures, a.last_failure_at,
                                                 @rate::float8, @breaker_failures::int, @cool_down_ms::bigint)) AS at
    FROM pending p
    LEFT JOIN sending_accounts a ON a.w_id = p.w_id
)
SELECT (SELECT count(*) FROM pending),
       (SELECT count(*) FROM deliveries d JOIN sending_campaigns c ON c.id = d.campaign_id
        WHERE d.status = 'sending'),
       coalesce(ceil(extract(epoch FROM greatest((SELECT min(at) FROM ready) - coalesce(@now::timestamptz, now()),
                                                 interval '0')) * 1000), 0)::bigint
