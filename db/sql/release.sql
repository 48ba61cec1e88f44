-- Hands back deliveries this process (@owner) claimed but never sent: it was
-- stopping, or the delivery's template was not ready. They are pending again
-- at once and the attempt the claim counted is given back, since no request
-- was made (SPEC §6: a stop leaves nothing `sending`). Only rows still
-- `sending` under this claim (same owner, same attempt) change, so a claim
-- that ran out and was reaped or taken by another process is left alone.
-- Rows are matched on the partition key too (@run_created_at, NULL for the
-- legacy partition). Returns the runs of the released deliveries, whose
-- stored totals (if closed, cancelled meanwhile) count attempts.
UPDATE deliveries d
SET status = 'pending',
    attempts = d.attempts - 1,
    claimed_by = NULL,
    lease_until = NULL,
    updated_at = now()
FROM unnest(@ids::bigint[], @attempts::int[], @run_created_at::timestamptz[]) AS r (id, attempt, run_created_at)
WHERE d.id = r.id
  AND d.run_created_at = coalesce(r.run_created_at, '-infinity')
  AND d.attempts = r.attempt
  AND d.status = 'sending'
  AND d.claimed_by = @owner
RETURNING d.run_id
