-- Serialises the pruning of one partition pair across instances: two daemons
-- pruning the same month would otherwise both archive it. A session lock,
-- held across the seal, the archive and the drop (three transactions), and
-- given back by prune_unlock.sql. The second instance waits, then finds the
-- pair gone (prune_partition_exists.sql) and counts it as done.
SELECT pg_advisory_lock(hashtext('broadcaster prune'), hashtext(@partition))
