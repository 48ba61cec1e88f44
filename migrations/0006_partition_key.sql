-- The partition key of deliveries and delivery_attempts (issue 10, part 3):
-- run_created_at, the creation time of the delivery's run, copied onto both
-- tables. Every row of a run carries the same value, so a run lives in
-- exactly one partition and "one delivery per recipient per run" (SPEC §3)
-- stays exact with unique indexes per partition (0008).
--
-- The rows already here get '-infinity': ADD COLUMN with a constant default
-- only writes the catalog (no rewrite, no scan), and the NOT VALID check
-- proves, once 0007 has validated it, that the whole table fits the legacy
-- partition 0008 attaches it as, so that the attach scans nothing.
--
-- The foreign key delivery_attempts.delivery_id → deliveries(id) goes: into
-- a partitioned deliveries it would need a unique (id, run_created_at) index
-- built on the legacy table under lock, and every drop of a partition would
-- check all attempts for rows that still reference it. Deleting deliveries
-- (a campaign deleted with SQL cascades to its runs and deliveries) still
-- deletes their attempts, through the statement trigger below: deletes are
-- rare, and one statement-level trigger with a transition table deletes all
-- of a statement's attempts in one join. Dropping a partition deletes its
-- attempts by dropping their partition (0008). Attempts are written only for
-- deliveries that exist (insert_attempts.sql checks), as the key ensured.
--
-- This breaks older binaries, and cannot be made not to: the first release
-- writes attempts with INSERT … ON CONFLICT (delivery_id, attempt), which
-- needs a unique index on the parent table with exactly those columns, and
-- PostgreSQL requires the partition key in every unique index of a
-- partitioned table. It also inserts deliveries without run_created_at.
-- Stop every older instance, migrate, then start the new binary (README,
-- "Upgrading"). schema_version 2 makes the first release's `check` and `run`
-- refuse this database too: it predates broadcaster_migrations and only
-- reads schema_version.
-- broadcaster:breaks-older-binaries

ALTER TABLE deliveries ADD COLUMN run_created_at timestamptz NOT NULL DEFAULT '-infinity';
ALTER TABLE delivery_attempts ADD COLUMN run_created_at timestamptz NOT NULL DEFAULT '-infinity';

ALTER TABLE deliveries ADD CONSTRAINT deliveries_legacy_range
    CHECK (run_created_at = '-infinity') NOT VALID;
ALTER TABLE delivery_attempts ADD CONSTRAINT delivery_attempts_legacy_range
    CHECK (run_created_at = '-infinity') NOT VALID;

ALTER TABLE delivery_attempts DROP CONSTRAINT delivery_attempts_delivery_id_fkey;

-- Deletes the attempts of the deliveries a statement deleted, matching on
-- the partition key too so that each lookup stays in one partition.
CREATE FUNCTION broadcaster_delete_attempts() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM delivery_attempts a
    USING deleted_deliveries d
    WHERE a.delivery_id = d.id AND a.run_created_at = d.run_created_at;
    RETURN NULL;
END
$$;

CREATE TRIGGER deliveries_delete_attempts
    AFTER DELETE ON deliveries
    REFERENCING OLD TABLE AS deleted_deliveries
    FOR EACH STATEMENT EXECUTE FUNCTION broadcaster_delete_attempts();

INSERT INTO schema_version (version) VALUES (2) ON CONFLICT DO NOTHING;
