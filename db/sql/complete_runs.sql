-- Completes the open runs that have nothing left to send — those named in @runs,
-- or all open runs when @runs is NULL — and the active one-shot campaigns they
-- belong to. A resend run's completion leaves a completed campaign completed
-- and a paused one paused; an active one-shot campaign (re-activated after its
-- run) is done once its resend is: its one firing is closed already.
-- Returns the runs it completed.
WITH done AS (
    UPDATE campaign_runs r
    SET status = 'completed',
        started_at = coalesce(r.started_at, now()),
        finished_at = now()
    WHERE r.status IN ('pending', 'running')
      AND (@runs::bigint[] IS NULL OR r.id = ANY (@runs::bigint[]))
      -- Not a NOT EXISTS here: planned on statistics of the run's fan-out,
      -- it reads every row already sent (migration 0012).
      AND NOT broadcaster_run_unfinished(r.id, r.created_at)
    RETURNING r.id, r.campaign_id
), one_shots AS (
    UPDATE campaigns c
    SET status = 'completed'
    FROM done
    WHERE c.id = done.campaign_id
      AND c.status = 'active'
      AND nullif(btrim(c.schedule), '') IS NULL
)
SELECT id FROM done
