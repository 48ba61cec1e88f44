-- Whether migrations were ever recorded here, and whether the first
-- release's schema is here (whose schema_version table predates them).
SELECT to_regclass('broadcaster_migrations') IS NOT NULL,
       to_regclass('schema_version') IS NOT NULL
