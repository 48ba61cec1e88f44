-- Hands back deliveries this process (@owner) claimed but never sent: it was
-- stopping, or the delivery's template was not ready. They are pending again
-- at once and the attempt the claim counted is given back, since no request
-- was made (SPEC §6: a stop leaves nothing `sending`). Only rows still
-- `sending` under this claim (same owner, same attempt) change, so a claim
-- that ran out and was reaped or taken by another process is left alone.
UPDATE deliveries d
SET status = 'pending',
    attempts = d.attempts - 1,
    claimed_by = NULL,
    lease_until = NULL,
    updated_at = now()
FROM unnest(@ids::bigint[], @attempts::int[]) AS r (id, attempt)
WHERE d.id = r.id
  AND d.attempts = r.attempt
  AND d.status = 'sending'
  AND d.claimed_by = @owner
