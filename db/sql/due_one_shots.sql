-- Active one-shot campaigns whose start has come and that have no run yet,
-- read as campaign.CampaignRow: every column in a form that holds any value
-- (timestamps as pgtype.Timestamptz, which takes ±infinity), so that one row
-- an operator got wrong makes only its own campaign invalid, in the domain,
-- instead of failing the scan of all of them. Hence also start_at =
-- 'infinity' (never due, but wrong), a blank schedule (one-shot by this test,
-- and refused by the domain), and the lists list_ids names that do not exist.
-- The column list is due_recurring.sql's and check_campaigns.sql's.
SELECT c.id, coalesce(c.name, ''), coalesce(c.w_id, ''), c.schedule, c.start_at, c.end_at, c.status,
       c.template_id, t.id, coalesce(t.name, ''), coalesce(t.img_url, ''), coalesce(t.content, ''),
       l.missing, l.has_null
FROM campaigns c
LEFT JOIN applet_templates t ON t.id = c.template_id
CROSS JOIN LATERAL (
    SELECT coalesce(array_agg(DISTINCT x ORDER BY x) FILTER (
               WHERE x IS NOT NULL AND NOT EXISTS (SELECT 1 FROM recipient_lists r WHERE r.id = x)), '{}') AS missing,
           coalesce(bool_or(x IS NULL), false) AS has_null
    FROM unnest(c.list_ids) AS x
) l
WHERE c.status = 'active'
  AND nullif(btrim(c.schedule), '') IS NULL
  AND (c.start_at <= @now OR c.start_at = 'infinity')
  AND NOT EXISTS (SELECT 1 FROM campaign_runs r WHERE r.campaign_id = c.id)
ORDER BY c.start_at, c.id
