-- Fans a run out to one delivery per distinct recipient, in one statement:
-- inline recipients ∪ members of the campaign's lists. Suppressed and malformed
-- wcIds become skipped rows whose last_error says why. Every delivery
-- carries its run's created_at as run_created_at, the partition key, so that
-- the whole run lands in one partition (migration 0008).
WITH c AS (
    SELECT recipients, list_ids FROM campaigns WHERE id = @campaign_id
), audience AS (
    SELECT coalesce(x.wc_id, '') AS wc_id
    FROM c, unnest(c.recipients) AS x (wc_id)
    UNION
    SELECT m.wc_id
    FROM c JOIN recipient_list_members m ON m.list_id = ANY (c.list_ids)
), inserted AS (
    INSERT INTO deliveries (run_id, campaign_id, wc_id, status, last_error, run_created_at)
    SELECT @run_id::bigint, @campaign_id::bigint, a.wc_id,
           CASE WHEN p.problem IS NULL AND s.wc_id IS NULL THEN 'pending' ELSE 'skipped' END,
           coalesce(p.problem,
                    CASE WHEN s.wc_id IS NOT NULL
                         THEN 'suppressed' || coalesce(': ' || nullif(s.reason, ''), '') END),
           (SELECT created_at FROM campaign_runs WHERE id = @run_id)
    FROM audience a
    CROSS JOIN LATERAL (SELECT broadcaster_wcid_problem(a.wc_id) AS problem) p
    LEFT JOIN suppressions s ON s.wc_id = a.wc_id
    RETURNING status
)
SELECT count(*), count(*) FILTER (WHERE status = 'skipped') FROM inserted
