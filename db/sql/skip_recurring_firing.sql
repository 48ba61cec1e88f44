-- Records a firing the scheduler skipped (the previous run was still
-- sending, or it was missed by more than the misfire grace) as a cancelled
-- run with a note, so that no instance creates it later. The unique
-- (campaign_id, scheduled_for) makes this once across instances, and keeps
-- it from replacing a run already created: the loser gets no row back. It
-- has no deliveries, so its stored totals are all zero.
INSERT INTO campaign_runs (campaign_id, scheduled_for, status, finished_at, note,
                           total, sent, failed, unknown, pending, skipped, attempts)
VALUES (@campaign_id, @scheduled_for, 'cancelled', now(), @note, 0, 0, 0, 0, 0, 0, 0)
ON CONFLICT (campaign_id, scheduled_for) DO NOTHING
RETURNING id
