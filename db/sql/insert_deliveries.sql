-- Fans a run out to one delivery per distinct recipient, in one statement:
-- inline recipients ∪ members of the campaign's lists or, for a resend
-- (@resend_of set), the recipients of run @resend_of whose delivery ended in
-- one of @statuses, less those an earlier resend of it took already (so that
-- no resend repeats another). Suppressed and malformed wcIds become skipped
-- rows whose last_error says why, for a resend as at first: suppressions
-- are applied as they are now. Every delivery carries its run's created_at
-- as run_created_at, the partition key, so that the whole run lands in one
-- partition (migration 0008).
WITH c AS (
    SELECT recipients, list_ids FROM campaigns
    WHERE id = @campaign_id AND @resend_of::bigint IS NULL
), audience AS (
    SELECT coalesce(x.wc_id, '') AS wc_id
    FROM c, unnest(c.recipients) AS x (wc_id)
    UNION
    SELECT m.wc_id
    FROM c JOIN recipient_list_members m ON m.list_id = ANY (c.list_ids)
    UNION
    SELECT d.wc_id
    FROM deliveries d
    WHERE d.run_id = @resend_of::bigint
      AND d.status = ANY (@statuses::text[])
      AND NOT EXISTS (
          SELECT 1 FROM campaign_runs x JOIN deliveries e ON e.run_id = x.id
          WHERE x.resend_of = @resend_of::bigint AND e.wc_id = d.wc_id)
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
    -- In wcId order, the order of two of the indexes it fills (run_id,
    -- wc_id and wc_id): each index page is filled in turn rather than at
    -- random, which made the fan-out of 300,000 recipients about 15% faster.
    ORDER BY a.wc_id
    RETURNING status
)
SELECT count(*), count(*) FILTER (WHERE status = 'skipped') FROM inserted
