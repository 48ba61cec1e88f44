-- Deliveries whose lease ran out belong to a process that died while sending
-- (or cannot reach the database): whether the message went out is
-- unknowable. They become 'unknown', or 'pending' again when the operator
-- allows ambiguous retries ($1) and attempts are left ($3). A process never
-- reaps its own claims ($2): it holds their results. A returned delivery waits
-- $4 ms before it may be claimed again, so that a holder that was only cut off
-- from the database can still write what the API answered (which then wins).
UPDATE deliveries
SET status = CASE WHEN $1 AND attempts < $3 THEN 'pending' ELSE 'unknown' END,
    last_error = 'lease expired: the process sending it stopped before recording a result',
    next_attempt_at = now() + $4::bigint * interval '1 millisecond',
    claimed_by = NULL,
    lease_until = NULL,
    updated_at = now()
WHERE status = 'sending'
  AND lease_until < now()
  AND claimed_by IS DISTINCT FROM $2
RETURNING run_id
