-- Whether a pair is still there, read after prune_lock.sql: false when
-- another instance dropped it first. at stamps the archive's manifest on the
-- database's clock.
SELECT now() AS at,
       EXISTS (SELECT 1 FROM broadcaster_partitions WHERE deliveries_partition = @partition) AS present
