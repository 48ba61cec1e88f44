-- The pairs of partitions of deliveries and delivery_attempts, oldest first,
-- for `prune` and the daemon's maintenance to decide what goes
-- (campaign.PlanPrune). read_at is the clock the cutoff is taken on: the
-- database's, or @now in tests. The legacy partition's range (before 2000)
-- says nothing about its age, so newest_run is when its newest run was
-- created. rows is the planner's estimate, or an exact count where the
-- partition was never analyzed (small or fresh; the DEFAULT one is not
-- counted: it is never pruned).
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
       END AS row_estimate
FROM broadcaster_partitions p
LEFT JOIN pg_class c ON c.oid = to_regclass(p.deliveries_partition)
ORDER BY CASE p.kind WHEN 'legacy' THEN 0 WHEN 'month' THEN 1 ELSE 2 END, p.range_from
