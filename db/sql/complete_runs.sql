-- Completes the open runs that have nothing left to send — those named in @runs,
-- or all open runs when @runs is NULL — and the one-shot campaigns they belong to
-- (not for a resend run: a campaign's status is its firings' business).
-- Returns the runs it completed.
WITH done AS (
    UPDATE campaign_runs r
    SET status = 'completed',
        started_at = coalesce(r.started_at, now()),
        finished_at = now()
    WHERE r.status IN ('pending', 'running')
      AND (@runs::bigint[] IS NULL OR r.id = ANY (@runs::bigint[]))
      AND NOT EXISTS (
          SELECT 1 FROM deliveries d
          WHERE d.run_id = r.id AND d.status IN ('pending', 'sending'))
    RETURNING r.id, r.campaign_id, r.resend_of
), one_shots AS (
    UPDATE campaigns c
    SET status = 'completed'
    FROM done
    WHERE c.id = done.campaign_id
      AND done.resend_of IS NULL
      AND c.status = 'active'
      AND nullif(btrim(c.schedule), '') IS NULL
)
SELECT id FROM done
