-- Every sending account's pacing and breaker state for the console, with
-- when it may send again (broadcaster_account_ready_at, as claims compute
-- it; -infinity, "no wait", as NULL) and its sends since @since (midnight
-- in the scheduler's zone), counted through deliveries_w_id_sent_idx
-- (migration 0011). At most @limit accounts.
SELECT a.w_id,
       nullif(broadcaster_account_ready_at(a.not_before, NULL, a.probe_until, a.tokens, a.refilled_at,
                                           0, NULL, @rate, 0, 0), '-infinity') AS paced_until,
       nullif(a.paused_until, '-infinity') AS paused_until,
       CASE WHEN @breaker_failures::int > 0 AND a.consecutive_failures >= @breaker_failures
            THEN a.last_failure_at + @cool_down_ms::bigint * interval '1 millisecond' END AS broken_until,
       a.consecutive_failures, a.last_failure_at,
       (SELECT count(*) FROM deliveries d
        WHERE d.w_id = a.w_id AND d.sent_at >= @since AND d.status = 'sent') AS sent_today
FROM sending_accounts a
ORDER BY a.w_id
LIMIT @limit
