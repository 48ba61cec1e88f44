-- The partitions of deliveries and delivery_attempts, oldest first (the
-- DEFAULT pair last), with the rows waiting in the DEFAULT partitions on the
-- DEFAULT pair's row, and whether a prune sealed the pair (its trigger
-- broadcaster_sealed; a pair left sealed means a prune failed before the
-- drop): what `check` and `migrate --status` show.
-- range_from is NULL for the legacy partition's -infinity (and the DEFAULT's).
SELECT p.deliveries_partition, p.attempts_partition, p.kind, nullif(p.range_from, '-infinity'), p.range_to, p.open_runs,
       CASE WHEN p.kind = 'default' THEN w.deliveries + w.attempts ELSE 0 END AS waiting,
       EXISTS (SELECT 1 FROM pg_trigger t
               WHERE t.tgrelid = to_regclass(quote_ident(p.deliveries_partition))
                 AND t.tgname = 'broadcaster_sealed') AS sealed
FROM broadcaster_partitions p, broadcaster_default_partition_rows w
