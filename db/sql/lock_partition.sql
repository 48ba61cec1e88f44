-- Freezes a pair (SHARE lock on both partitions until the end of the
-- transaction) so that what is archived is exactly what is dropped: a late
-- result for one of its deliveries waits, then finds the row gone.
SELECT broadcaster_lock_partition(@partition)
