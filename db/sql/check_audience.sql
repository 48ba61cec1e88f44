-- What `broadcaster check` reports about the audiences of active and paused
-- campaigns, resolved the way run creation resolves them
-- (insert_deliveries.sql): inline recipients ∪ members of list_ids,
-- de-duplicated; malformed wcIds (broadcaster_wcid_problem) and suppressed
-- ones would be skipped. One row per finding, problems first; problem =
-- false is a note that needs no fix. Lists that do not exist are not here:
-- they make the campaign invalid, and campaign.CampaignRow says so, for check
-- as for the scheduler. No parameters: it runs as it is in psql.
WITH c AS (
    SELECT id, name, recipients, list_ids
    FROM campaigns
    WHERE status IN ('active', 'paused')
), lists AS (
    SELECT c.id AS campaign_id, l.list_id, r.name,
           EXISTS (SELECT 1 FROM recipient_list_members m WHERE m.list_id = l.list_id) AS has_members
    FROM c
    CROSS JOIN LATERAL (SELECT DISTINCT x AS list_id FROM unnest(c.list_ids) AS x) l
    LEFT JOIN recipient_lists r ON r.id = l.list_id
), audience AS (
    SELECT c.id AS campaign_id, coalesce(x.wc_id, '') AS wc_id
    FROM c, unnest(c.recipients) AS x (wc_id)
    UNION
    SELECT c.id, m.wc_id
    FROM c JOIN recipient_list_members m ON m.list_id = ANY (c.list_ids)
), judged AS (
    SELECT a.campaign_id, a.wc_id, broadcaster_wcid_problem(a.wc_id) AS problem,
           s.wc_id IS NOT NULL AS suppressed
    FROM audience a
    LEFT JOIN suppressions s ON s.wc_id = a.wc_id
), counts AS (
    SELECT c.id AS campaign_id,
           count(j.wc_id) AS total,
           count(j.wc_id) FILTER (WHERE j.problem IS NOT NULL) AS malformed,
           count(j.wc_id) FILTER (WHERE j.problem IS NULL AND j.suppressed) AS suppressed,
           -- JSON quoting keeps a wcId with a newline on one line.
           min(to_json(j.wc_id)::text || ' (' || j.problem || ')') FILTER (WHERE j.problem IS NOT NULL) AS example
    FROM c
    LEFT JOIN judged j ON j.campaign_id = c.id
    GROUP BY c.id
), findings (campaign_id, problem, message, fix) AS (
    SELECT campaign_id, true,
           'no recipients: campaigns.recipients is empty and list_ids names no list with members',
           'add wcIds to campaigns.recipients, or members to a list named in campaigns.list_ids'
    FROM counts
    WHERE total = 0
    UNION ALL
    SELECT campaign_id, true,
           format('%s of %s recipients would be skipped for a malformed wcId, e.g. %s', malformed, total, example),
           'correct or remove them in campaigns.recipients or recipient_list_members '
           '(broadcaster_wcid_problem(wc_id) says what is wrong with each)'
    FROM counts
    WHERE malformed > 0
    UNION ALL
    SELECT campaign_id, true,
           format('all %s recipients would be skipped (%s suppressed, %s malformed): a run would send nothing',
                  total, suppressed, malformed),
           'add recipients who are not suppressed, or cancel the campaign'
    FROM counts
    WHERE total > 0 AND total = malformed + suppressed
    UNION ALL
    SELECT campaign_id, false,
           format('%s of %s recipients are suppressed and would be skipped', suppressed, total),
           NULL
    FROM counts
    WHERE suppressed > 0
    UNION ALL
    SELECT campaign_id, false,
           format('list %s %s has no members', list_id, to_json(name)),
           NULL
    FROM lists
    WHERE name IS NOT NULL AND NOT has_members
)
SELECT f.campaign_id, c.name, f.problem, f.message, coalesce(f.fix, '')
FROM findings f
JOIN c ON c.id = f.campaign_id
ORDER BY f.campaign_id, f.problem DESC, f.message
