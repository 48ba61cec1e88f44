-- Plans that stay fast while a run sends (issue 11): fresh planner
-- statistics after a large fan-out, and a completion probe that never
-- depends on them.
--
-- A run's fan-out can multiply the rows of its month's partition in one
-- transaction. Until the partition is analysed again, the planner believes
-- it holds what it held before (often nothing), and the claim, run for the
-- first time against a fresh partition, is planned as a sort of every
-- pending delivery instead of a walk down deliveries_pending_idx: measured,
-- 11 ms a claim of 64 on a run of 30,000, against 2 ms once analysed, so a
-- fresh run went at half speed. The plan is cached by every connection,
-- so it stays bad until autovacuum analyses the partition, a minute or more
-- later. ANALYZE is the table owner's, so the broadcaster role, which may
-- not own the tables (deploy/least-privilege.sql), asks this function,
-- which runs as its owner (the role that migrates).
--
-- The completion probe, likewise: "is anything of this run still pending or
-- sending?" is asked after every batch of results. Planned on statistics
-- taken when the run was all pending, it is a sequential scan that stops at
-- the first unfinished row, which lies behind every row already sent: the
-- probe grows with the run, and a run of a million deliveries would read
-- half a million rows per batch. The function below always walks
-- deliveries_open_run_idx (a descent of a small partial index), whatever the
-- statistics say: enable_seqscan is off for its one query, and only there.
--
-- Expand only: functions the previous release does not call.

-- Analyses the partition holding run @run_id's deliveries, when the
-- @inserted rows just added to it are many for what the planner knows of it:
-- at least 1,000 and more than a tenth of its last estimated size (or it was
-- never analysed). Small runs leave it alone: their rows change no plan, and
-- sampling a large month costs up to a few hundred milliseconds. Call it in
-- the transaction that inserted them: ANALYZE counts and samples the
-- transaction's own rows, and its statistics commit with them, so every
-- connection plans with them from the first claim (ANALYZE invalidates the
-- cached plans). It does not wait for another analysis of the month (that
-- one's statistics will do), and returns whether it analysed. A fan-out
-- that rolls back leaves the partition's estimated size (pg_class.reltuples,
-- written outside the transaction) too high until the next analysis.
CREATE FUNCTION broadcaster_analyze_run(run_id bigint, inserted bigint)
RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    part regclass;
    known real;
BEGIN
    IF inserted < 1000 THEN
        RETURN false;
    END IF;
    SELECT d.tableoid::regclass INTO part
    FROM campaign_runs r
    JOIN deliveries d ON d.run_id = r.id AND d.run_created_at = r.created_at
    WHERE r.id = $1
    LIMIT 1;
    IF part IS NULL THEN
        RETURN false;
    END IF;
    SELECT c.reltuples INTO known FROM pg_class c WHERE c.oid = part;
    IF known >= 0 AND inserted <= known / 10 THEN
        RETURN false;
    END IF;
    -- ANALYZE's lock is held to the end of the fan-out's transaction: when
    -- another fan-out (or autovacuum) is analysing the month, let it.
    BEGIN
        EXECUTE format('LOCK TABLE %s IN SHARE UPDATE EXCLUSIVE MODE NOWAIT', part);
    EXCEPTION WHEN lock_not_available THEN
        RETURN false;
    END;
    EXECUTE format('ANALYZE %s', part);
    RETURN true;
END
$$;

-- What the fan-out calls: broadcaster_analyze_run for a role granted it,
-- nothing for one that is not (deploy/least-privilege.sql not run again
-- since the upgrade, a role of the operator's own): the run goes out all
-- the same, its first claims slower. In PL/pgSQL, whose statements are
-- checked when they run: in SQL, CASE WHEN has_function_privilege(…) THEN
-- broadcaster_analyze_run(…) fails for such a role even when the branch is
-- not taken, since a function's right to run is checked when its query
-- starts.
CREATE FUNCTION broadcaster_analyze_run_if_allowed(run bigint, inserted bigint)
RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    IF NOT has_function_privilege('broadcaster_analyze_run(bigint, bigint)', 'EXECUTE') THEN
        RETURN false;
    END IF;
    RETURN broadcaster_analyze_run(run, inserted);
END
$$;

-- Whether run @run_id (created at @run_created_at) has a delivery still
-- pending or sending. Its rows are in the partition of its creation time,
-- or in the legacy partition ('-infinity') for runs made before 0008: the
-- probe visits those two partitions only.
CREATE FUNCTION broadcaster_run_unfinished(run bigint, created timestamptz)
RETURNS boolean LANGUAGE plpgsql STABLE SET enable_seqscan = off AS $$
BEGIN
    -- PL/pgSQL, not SQL: a SQL function with a SET clause is planned again
    -- at every call (0.7 ms), this one once per connection.
    RETURN EXISTS (
        SELECT 1 FROM deliveries d
        WHERE d.run_id = run
          AND d.run_created_at IN (created, '-infinity')
          AND d.status IN ('pending', 'sending'));
END
$$;

-- Pinned to this schema (pg_temp last), whatever the caller's search_path;
-- run only by the roles granted it (deploy/least-privilege.sql).
DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION broadcaster_analyze_run(bigint, bigint) SET search_path = %I, pg_temp',
                   current_schema());
    REVOKE ALL ON FUNCTION broadcaster_analyze_run(bigint, bigint) FROM PUBLIC;
    EXECUTE format('ALTER FUNCTION broadcaster_run_unfinished(bigint, timestamptz) SET search_path = %I, pg_temp',
                   current_schema());
    EXECUTE format('ALTER FUNCTION broadcaster_analyze_run_if_allowed(bigint, bigint) SET search_path = %I, pg_temp',
                   current_schema());
END
$$;
