-- The run a resend repeats (@run_id), locked for the resend's transaction so
-- that two resends of it are made one after the other and the second leaves
-- out what the first took: its campaign, its status and its campaign's
-- (which decide whether it may be re-sent), its latest resend (0: none), and
-- the instant {{date}} renders from — the first run's scheduled_for, carried
-- from resend to resend in render_date_of. (NO KEY: the lock need not stop
-- the key-share locks of foreign keys, the new run's resend_of among them.)
SELECT r.campaign_id, r.status, c.status,
       coalesce((SELECT max(n.id) FROM campaign_runs n WHERE n.resend_of = r.id), 0),
       coalesce(r.render_date_of, r.scheduled_for)
FROM campaign_runs r
JOIN campaigns c ON c.id = r.campaign_id
WHERE r.id = @run_id
FOR NO KEY UPDATE OF r
