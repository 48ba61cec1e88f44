-- A database created by the first release holds schema.sql as shipped, which
-- is migration 1 exactly, and a schema_version table, but no record of
-- migrations: record migration 1 as applied rather than apply it again.
INSERT INTO broadcaster_migrations (version, name, checksum)
SELECT @version, @name, @checksum
WHERE NOT EXISTS (SELECT 1 FROM broadcaster_migrations)
  AND to_regclass('schema_version') IS NOT NULL
