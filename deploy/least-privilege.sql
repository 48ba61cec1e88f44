-- A database role for broadcaster that can do its work and nothing else.
-- Run it as the database owner, in broadcaster's database, after
-- `broadcaster migrate` has created the tables, and again after each upgrade
-- (it is idempotent; migrate itself needs the
-- owner's rights; run it with the owner's URL, and the daemon with this role):
--   psql "$OWNER_URL" -f deploy/least-privilege.sql
-- then ALTER ROLE broadcaster_app PASSWORD '…' and give the daemon
-- DATABASE_URL=postgres://broadcaster_app:…@host/db.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'broadcaster_app') THEN
        CREATE ROLE broadcaster_app LOGIN;
    END IF;
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO broadcaster_app', current_database());
END
$$;
GRANT USAGE ON SCHEMA public TO broadcaster_app;
-- Operators' tables: broadcaster reads them, and updates campaign statuses.
GRANT SELECT ON applet_templates, recipient_lists, recipient_list_members, suppressions TO broadcaster_app;
GRANT SELECT, UPDATE ON campaigns TO broadcaster_app;
-- Its own tables.
GRANT SELECT, INSERT, UPDATE ON campaign_runs, deliveries, delivery_attempts, sending_accounts TO broadcaster_app;
GRANT SELECT ON schema_version, broadcaster_migrations, campaign_run_summary, sending_campaigns TO broadcaster_app;
-- Who did what: the console reads it, and the console's and resend's writes
-- add to it (status changes are recorded by a trigger, which needs no grant).
GRANT SELECT, INSERT ON audit_log TO broadcaster_app;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO broadcaster_app;
-- The global pause of sending, one row shared by every instance.
GRANT SELECT, INSERT, UPDATE ON api_outage TO broadcaster_app;
-- Partitions (migration 0008): the daemon creates them ahead and drops the
-- ones past retention only through these functions, which run as their
-- owner (the role that migrates); it reads the list through the view.
GRANT SELECT ON broadcaster_partitions, broadcaster_default_partition_rows TO broadcaster_app;
GRANT EXECUTE ON FUNCTION broadcaster_ensure_partitions(timestamptz, int),
                          broadcaster_lock_partition(text),
                          broadcaster_seal_partition(text),
                          broadcaster_drop_partition(text) TO broadcaster_app;
-- Fresh statistics after a large fan-out (migration 0012): ANALYZE is the
-- owner's, so the fan-out asks this function.
GRANT EXECUTE ON FUNCTION broadcaster_analyze_run(bigint, bigint) TO broadcaster_app;
