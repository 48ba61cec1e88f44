-- Serialises migrations: two processes migrating at once both succeed
-- instead of racing on the catalog. Released at commit.
SELECT pg_advisory_xact_lock($1)
