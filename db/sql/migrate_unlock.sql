-- Gives back the lock migrate_lock.sql took.
SELECT pg_advisory_unlock(@key)
