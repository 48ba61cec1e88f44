-- wcIds that would be skipped as malformed, in lists and inline in active or
-- paused campaigns, with what is wrong (whitespace, control characters,
-- empty, too long): clean them before the next run.
SELECT 'list ' || l.name AS source, m.wc_id, broadcaster_wcid_problem(m.wc_id) AS problem
FROM recipient_list_members m
JOIN recipient_lists l ON l.id = m.list_id
WHERE broadcaster_wcid_problem(m.wc_id) IS NOT NULL
UNION ALL
SELECT 'campaign ' || c.name, coalesce(r.wc_id, ''), broadcaster_wcid_problem(r.wc_id)
FROM campaigns c, unnest(c.recipients) AS r (wc_id)
WHERE c.status IN ('active', 'paused')
  AND broadcaster_wcid_problem(r.wc_id) IS NOT NULL
ORDER BY source, wc_id
