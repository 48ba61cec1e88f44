-- The pairs of partitions of deliveries and delivery_attempts, oldest first
-- (the DEFAULT pair last): what `prune` and the daemon's maintenance decide
-- on (campaign.PlanPrune), and what `check` and `migrate --status` show. read_at is the clock the cutoff is taken on: the
-- database's, or @now in tests. The legacy partition's range (before 2000)
-- says nothing about its age, so newest_run is when its newest run was
-- created. rows is the planner's estimate, or an exact count where the
-- partition was never analyzed (small or fresh; the DEFAULT one is not
-- counted: it is never pruned). waiting is the rows in the DEFAULT
-- partitions, on the DEFAULT pair's row; sealed says a prune sealed the
-- pair (its trigger broadcaster_sealed), which a failed prune leaves.
SELECT coalesce(@now::timestamptz, now()) AS read_at,
       p.deliveries_partition, p.attempts_partition, p.kind,
       p.range_from, p.range_to, p.open_runs::bigint AS open_runs,
       CASE WHEN p.kind = 'legacy' THEN (
           SELECT max(r.created_at) FROM campaign_runs r
           WHERE EXISTS (SELECT 1 FROM deliveries d
                         WHERE d.run_id = r.id AND d.run_created_at = '-infinity')
       ) END AS newest_run,
       CASE WHEN c.reltuples >= 0 THEN c.reltuples::bigint
            WHEN p.kind <> 'default' THEN (
                SELECT count(*) FROM deliveries d
                WHERE d.run_created_at >= coalesce(p.range_from, '-infinity')
                  AND d.run_created_at < p.range_to)
       END AS row_estimate,
       CASE WHEN p.kind = 'default' THEN w.deliveries + w.attempts ELSE 0 END AS waiting,
       EXISTS (SELECT 1 FROM pg_trigger t
               WHERE t.tgrelid = c.oid AND t.tgname = 'broadcaster_sealed') AS sealed
FROM broadcaster_partitions p
CROSS JOIN broadcaster_default_partition_rows w
LEFT JOIN pg_class c ON c.oid = to_regclass(quote_ident(p.deliveries_partition))
ORDER BY CASE p.kind WHEN 'legacy' THEN 0 WHEN 'month' THEN 1 ELSE 2 END, p.range_from
