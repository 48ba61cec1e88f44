-- The campaigns `broadcaster check` examines, with their templates: those
-- that will or may still send (active, paused) and those marked invalid,
-- which were meant to send and did not. Read as campaign.CampaignRow, with
-- due_one_shots.sql's columns, so check judges a row exactly as the
-- scheduler does; then the reason stored when it was marked invalid.
SELECT c.id, coalesce(c.name, ''), coalesce(c.w_id, ''), c.schedule, c.start_at, c.end_at, c.status,
       c.template_id, t.id, coalesce(t.name, ''), coalesce(t.img_url, ''), coalesce(t.content, ''),
       l.missing, l.has_null,
       coalesce(c.error, '')
FROM campaigns c
LEFT JOIN applet_templates t ON t.id = c.template_id
CROSS JOIN LATERAL (
    SELECT coalesce(array_agg(DISTINCT x ORDER BY x) FILTER (
               WHERE x IS NOT NULL AND NOT EXISTS (SELECT 1 FROM recipient_lists r WHERE r.id = x)), '{}') AS missing,
           coalesce(bool_or(x IS NULL), false) AS has_null
    FROM unnest(c.list_ids) AS x
) l
WHERE c.status IN ('active', 'paused', 'invalid')
ORDER BY c.id
