-- Gives back the lock prune_lock.sql took.
SELECT pg_advisory_unlock(hashtext('broadcaster prune'), hashtext(@partition))
