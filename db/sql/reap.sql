-- Deliveries whose lease ran out belong to a process that died while sending
-- (or cannot reach the database): whether the message went out is
-- unknowable. They become 'unknown', or 'pending' again when the operator
-- allows ambiguous retries (@retry_ambiguous) and attempts are left
-- (@max_attempts). A returned delivery waits @delay_ms before it may be
-- claimed again, so that a holder that was only cut off from the database
-- can still write what the API answered (which then wins).
-- This process's own claims (@owner) are another matter. Those it holds
-- (@holding: claimed and not released, or with results not yet written) are
-- never reaped here: it may still write their results. Any other own claim
-- whose lease ran out was lost on its way back (the claim committed, its rows
-- never reached the process: the database restarted, the claim timed out),
-- so no request was ever made for it: it goes back to 'pending' at once with
-- its attempt given back, as release.sql does, and last_error is left alone.
-- @now is the time leases are judged by; NULL (production) means the
-- database's clock, as in claim.sql. Returns the runs of the deliveries it
-- changed, whose totals are refreshed if they are closed (a cancelled run
-- whose deliveries were still being sent).
UPDATE deliveries
SET status = CASE WHEN claimed_by = @owner::text THEN 'pending'
                  WHEN @retry_ambiguous::bool AND attempts < @max_attempts::int THEN 'pending'
                  ELSE 'unknown' END,
    attempts = CASE WHEN claimed_by = @owner::text THEN attempts - 1 ELSE attempts END,
    last_error = CASE WHEN claimed_by = @owner::text THEN last_error
                      ELSE 'lease expired: the process sending it stopped before recording a result' END,
    next_attempt_at = CASE WHEN claimed_by = @owner::text THEN next_attempt_at
                           ELSE coalesce(@now::timestamptz, now()) + @delay_ms::bigint * interval '1 millisecond' END,
    claimed_by = NULL,
    lease_until = NULL,
    updated_at = now()
WHERE status = 'sending'
  AND lease_until < coalesce(@now::timestamptz, now())
  AND (claimed_by IS DISTINCT FROM @owner::text OR NOT (id = ANY (@holding::bigint[])))
RETURNING run_id
