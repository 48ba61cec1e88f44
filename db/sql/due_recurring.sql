-- Active recurring campaigns whose start has come, with their template, the
-- scheduled_for of their latest run (of any status: a skipped firing counts)
-- and whether an open run still has deliveries pending or sending. The
-- scheduler works out each campaign's firings from these. "Recurring" is the
-- exact complement of due_one_shots.sql's test.
SELECT c.id, c.name, c.w_id, coalesce(c.schedule, ''), c.start_at, c.end_at, c.status,
       t.id, t.name, t.img_url, t.content,
       (SELECT max(r.scheduled_for) FROM campaign_runs r WHERE r.campaign_id = c.id),
       EXISTS (
           SELECT 1 FROM campaign_runs r
           WHERE r.campaign_id = c.id
             AND r.status IN ('pending', 'running')
             AND (EXISTS (SELECT 1 FROM deliveries d
                          WHERE d.campaign_id = c.id AND d.run_id = r.id AND d.status = 'pending')
                  OR EXISTS (SELECT 1 FROM deliveries d
                             WHERE d.status = 'sending' AND d.run_id = r.id)))
FROM campaigns c
LEFT JOIN applet_templates t ON t.id = c.template_id
WHERE c.status = 'active'
  AND nullif(btrim(c.schedule), '') IS NOT NULL
  AND c.start_at <= $1
ORDER BY c.start_at, c.id
