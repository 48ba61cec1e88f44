-- The migrations applied to this database, one row each, with the checksum
-- of the file as applied: an applied file edited later is refused rather
-- than silently diverging. breaks_older tells binaries that do not know a
-- migration whether they must refuse the database. (schema_version, from the
-- first release, stays at 1 so that release's `check` accepts a database one
-- migration ahead during a rolling update.)
CREATE TABLE IF NOT EXISTS broadcaster_migrations (
    version      integer PRIMARY KEY,
    name         text NOT NULL,
    checksum     text NOT NULL,
    breaks_older boolean NOT NULL DEFAULT false,
    applied_at   timestamptz NOT NULL DEFAULT now()
)
