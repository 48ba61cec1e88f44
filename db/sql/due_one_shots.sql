-- Active one-shot campaigns whose start has come and that have no run yet.
SELECT c.id, c.name, c.w_id, coalesce(c.schedule, ''), c.start_at, c.end_at, c.status,
       t.id, t.name, t.img_url, t.content
FROM campaigns c
LEFT JOIN applet_templates t ON t.id = c.template_id
WHERE c.status = 'active'
  AND nullif(btrim(c.schedule), '') IS NULL
  AND c.start_at <= $1
  AND NOT EXISTS (SELECT 1 FROM campaign_runs r WHERE r.campaign_id = c.id)
ORDER BY c.start_at, c.id
