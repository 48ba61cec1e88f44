-- Carries out cancellations (SPEC §3): the pending deliveries of cancelled
-- campaigns become skipped, and their open runs cancelled. Deliveries being
-- sent are left to finish and be recorded; their run stays cancelled. Any
-- pending delivery of a cancelled campaign is skipped, whatever its run, so
-- one that a reaper or a late run creation made pending is caught by the next
-- pass. Returns how many deliveries and runs it changed, and the runs
-- concerned, whose totals are then stored (refresh_run_totals.sql).
WITH cancelled AS (
    SELECT id FROM campaigns WHERE status = 'cancelled'
), skipped AS (
    UPDATE deliveries d
    SET status = 'skipped', last_error = 'cancelled', updated_at = now()
    WHERE d.status = 'pending'
      AND d.campaign_id IN (SELECT id FROM cancelled)
    RETURNING d.id, d.run_id
), runs AS (
    UPDATE campaign_runs r
    SET status = 'cancelled', finished_at = now(), note = 'campaign cancelled'
    WHERE r.status IN ('pending', 'running')
      AND r.campaign_id IN (SELECT id FROM cancelled)
    RETURNING r.id
)
SELECT (SELECT count(*) FROM skipped), (SELECT count(*) FROM runs),
       ARRAY(SELECT run_id FROM skipped UNION SELECT id FROM runs)
