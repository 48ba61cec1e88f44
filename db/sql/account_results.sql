-- Keeps each account's run of failed attempts for the circuit breaker, from
-- parallel arrays: w_id, whether the batch had a success (which restarts the
-- count), and the failures after the last success. Only the API's answers
-- count as failures: an outage of the whole API pauses everyone instead
-- (api_outage), so the caller passes 0 for those. Any result ends a probe's
-- hold on the account.
UPDATE sending_accounts a
SET consecutive_failures = CASE WHEN r.reset THEN r.fails ELSE a.consecutive_failures + r.fails END,
    last_failure_at = CASE WHEN r.fails > 0 THEN now() ELSE a.last_failure_at END,
    probe_until = NULL,
    updated_at = now()
FROM unnest(@w_id::text[], @reset::bool[], @fails::int[]) AS r (w_id, reset, fails)
WHERE a.w_id = r.w_id
