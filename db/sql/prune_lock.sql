-- Serialises the pruning of one partition pair across instances for the rest
-- of the transaction: two daemons pruning the same month would otherwise both
-- copy it and then deadlock on the drop. The second waits, then finds the
-- pair gone (prune_partition_exists.sql) and counts it as done.
SELECT pg_advisory_xact_lock(hashtext('broadcaster prune'), hashtext(@partition))
