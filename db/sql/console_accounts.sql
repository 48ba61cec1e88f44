-- Every sending account's pacing and breaker state for the console, with
-- when it may send again (broadcaster_account_ready_at, as claims compute
-- it; -infinity, "no wait", as NULL) and its sends since @since (midnight
-- in the scheduler's zone), counted through deliveries_w_id_sent_idx
-- (migration 0011). At most @limit accounts. With @waiting_only, only the
-- accounts that may not send at @now, and no counts (0): the Now page, which
-- every open tab polls every 2 s, shows nothing else, and the counts are
-- what the reading costs.
SELECT a.w_id, s.paced_until, s.paused_until, s.broken_until,
       a.consecutive_failures, a.last_failure_at,
       CASE WHEN @waiting_only::bool THEN 0
            ELSE (SELECT count(*) FROM deliveries d
                  WHERE d.w_id = a.w_id AND d.sent_at >= @since AND d.status = 'sent') END AS sent_today
FROM sending_accounts a
CROSS JOIN LATERAL (
    SELECT nullif(broadcaster_account_ready_at(a.not_before, NULL, a.probe_until, a.tokens, a.refilled_at,
                                               0, NULL, @rate, 0, 0), '-infinity') AS paced_until,
           nullif(a.paused_until, '-infinity') AS paused_until,
           CASE WHEN @breaker_failures::int > 0 AND a.consecutive_failures >= @breaker_failures
                THEN a.last_failure_at + @cool_down_ms::bigint * interval '1 millisecond' END AS broken_until
) s
WHERE NOT @waiting_only::bool
   OR s.paced_until > @now OR s.paused_until > @now OR s.broken_until > @now
ORDER BY a.w_id
LIMIT @limit
