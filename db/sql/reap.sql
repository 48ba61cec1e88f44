-- Deliveries whose lease ran out belong to a process that died while sending:
-- whether the message went out is unknowable. They become 'unknown', or
-- 'pending' again when the operator allows ambiguous retries ($1).
UPDATE deliveries
SET status = CASE WHEN $1 THEN 'pending' ELSE 'unknown' END,
    last_error = 'lease expired: the process sending it stopped before recording a result',
    next_attempt_at = now(),
    claimed_by = NULL,
    lease_until = NULL,
    updated_at = now()
WHERE status = 'sending' AND lease_until < now()
RETURNING run_id
