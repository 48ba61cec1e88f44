-- Deliveries whose lease ran out belong to a process that died while sending
-- (or cannot reach the database): whether the message went out is
-- unknowable. They become 'unknown', or 'pending' again when the operator
-- allows ambiguous retries (@retry_ambiguous) and attempts are left
-- (@max_attempts). A process never reaps its own claims (@owner): it holds
-- their results. A returned delivery waits @delay_ms before it may be claimed
-- again, so that a holder that was only cut off from the database can still
-- write what the API answered (which then wins).
-- @now is the time leases are judged by; NULL (production) means the
-- database's clock, as in claim.sql.
UPDATE deliveries
SET status = CASE WHEN @retry_ambiguous::bool AND attempts < @max_attempts::int THEN 'pending' ELSE 'unknown' END,
    last_error = 'lease expired: the process sending it stopped before recording a result',
    next_attempt_at = coalesce(@now::timestamptz, now()) + @delay_ms::bigint * interval '1 millisecond',
    claimed_by = NULL,
    lease_until = NULL,
    updated_at = now()
WHERE status = 'sending'
  AND lease_until < coalesce(@now::timestamptz, now())
  AND claimed_by IS DISTINCT FROM @owner::text
RETURNING run_id
