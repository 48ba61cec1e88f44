-- What changed among the runs that may have deliveries to send (open runs
-- of the campaigns that send: sending_campaigns) since the caller last
-- asked: the open runs not in @known, each with its campaign's template
-- (NULLs for a campaign that names no template), and the runs in @known
-- that are no longer open (closed). The dispatcher asks before every claim
-- and prepares the new templates, so that a claimed delivery goes to the
-- API at once and its account's pacing holds where the API sees it
-- (SPEC §6). Only changes cross the wire: with 1,000 open runs, listing
-- them all before every claim cost 2 ms, and searching @known with = ANY
-- for each of them 7 ms.
WITH known AS (
    SELECT DISTINCT k.id FROM unnest(@known::bigint[]) AS k (id)
), open AS MATERIALIZED (
    SELECT r.id, r.campaign_id, c.template_id
    FROM campaign_runs r
    JOIN sending_campaigns c ON c.id = r.campaign_id
    WHERE r.status IN ('pending', 'running')
)
SELECT o.id, o.campaign_id, false AS closed, t.id, t.name, t.img_url, t.content
FROM open o
LEFT JOIN applet_templates t ON t.id = o.template_id
WHERE NOT EXISTS (SELECT 1 FROM known k WHERE k.id = o.id)
UNION ALL
SELECT k.id, 0, true, NULL, NULL, NULL, NULL
FROM known k
WHERE NOT EXISTS (SELECT 1 FROM open o WHERE o.id = k.id)
