-- One page of the console's campaign list, newest first, below the keyset
-- @before (0: from the newest), at most @limit; read as campaign.CampaignRow
-- (check_campaigns.sql's columns) with error and updated_at.
SELECT c.id, coalesce(c.name, ''), coalesce(c.w_id, ''), c.schedule, c.start_at, c.end_at, c.status,
       c.template_id, t.id, coalesce(t.name, ''), coalesce(t.img_url, ''), coalesce(t.content, ''),
       l.missing, l.has_null,
       coalesce(c.error, ''), c.updated_at
FROM campaigns c
LEFT JOIN applet_templates t ON t.id = c.template_id
CROSS JOIN LATERAL (
    SELECT coalesce(array_agg(DISTINCT x ORDER BY x) FILTER (
               WHERE x IS NOT NULL AND NOT EXISTS (SELECT 1 FROM recipient_lists r WHERE r.id = x)), '{}') AS missing,
           coalesce(bool_or(x IS NULL), false) AS has_null
    FROM unnest(c.list_ids) AS x
) l
WHERE (@before::bigint = 0 OR c.id < @before)
  AND (@id::bigint = 0 OR c.id = @id)
ORDER BY c.id DESC
LIMIT @limit
