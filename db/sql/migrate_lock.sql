-- Serialises migrations: two processes migrating at once both succeed
-- instead of racing on the catalog. A session lock, held across the
-- migrations' own transactions, and given back by migrate_unlock.sql.
SELECT pg_advisory_lock(@key)
