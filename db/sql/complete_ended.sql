-- Completes the active recurring campaigns whose end_at is before @ended_before and
-- that have no open run: nothing of theirs is left to fire or to send. The
-- scheduler passes now minus the misfire grace, so that a last firing that
-- may still be caught up is never raced. An end_at of -infinity is not an
-- end but a mistake: the scheduler marks that campaign invalid instead.
-- Returns the campaigns completed.
UPDATE campaigns c
SET status = 'completed'
WHERE c.status = 'active'
  AND nullif(btrim(c.schedule), '') IS NOT NULL
  AND c.end_at < @ended_before
  AND isfinite(c.end_at)
  AND NOT EXISTS (
      SELECT 1 FROM campaign_runs r
      WHERE r.campaign_id = c.id AND r.status IN ('pending', 'running'))
RETURNING c.id
