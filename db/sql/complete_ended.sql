-- Completes the active campaigns that have nothing left to fire or to send:
-- no open run, and either recurring with an end_at before @ended_before, or
-- one-shot with its firing's run made. The scheduler passes now minus the
-- misfire grace, so that a last firing that may still be caught up is never
-- raced. An end_at of -infinity is not an end but a mistake: the scheduler
-- marks that campaign invalid instead. A one-shot campaign completes with
-- its run (complete_runs.sql); this catches one resumed after that, such as
-- a completed campaign paused during a resend whose run then closed.
-- Returns the campaigns completed.
UPDATE campaigns c
SET status = 'completed'
WHERE c.status = 'active'
  AND CASE WHEN nullif(btrim(c.schedule), '') IS NOT NULL
           THEN c.end_at < @ended_before AND isfinite(c.end_at)
           ELSE EXISTS (SELECT 1 FROM campaign_runs r WHERE r.campaign_id = c.id)
      END
  AND NOT EXISTS (
      SELECT 1 FROM campaign_runs r
      WHERE r.campaign_id = c.id AND r.status IN ('pending', 'running'))
RETURNING c.id
