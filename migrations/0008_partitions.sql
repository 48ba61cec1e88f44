-- deliveries and delivery_attempts become partitioned by run_created_at, the
-- creation time of the delivery's run (0006), in UTC calendar months, so that
-- retention drops whole months (broadcaster_drop_partition) at a cost that
-- does not depend on how much else is kept. A month, not a week: the
-- default retention is counted in months of audit history, a month of 10
-- million deliveries a night is ~200 GB, which a partition handles well, and
-- twelve partitions a year keep the planner's work per query small (queries
-- that cannot prune, such as claims, visit every partition's index).
--
-- The existing tables are not rewritten: they are renamed *_legacy and
-- attached as the partition FOR VALUES FROM (MINVALUE) TO ('2000-01-01'),
-- which the check validated by 0007 (run_created_at = '-infinity') proves,
-- so the attach scans nothing. Their indexes are adopted, not rebuilt: the
-- parents' indexes are exactly the legacy ones (same columns, same
-- predicates), and the unique keys live on each partition instead of on
-- the parents. A parent-level UNIQUE (run_id, wc_id, run_created_at) would
-- match no legacy index and be built on the whole legacy table under lock.
-- Per partition, UNIQUE (run_id, wc_id) enforces SPEC §3 exactly, since all
-- the rows of a run share run_created_at and so one partition; likewise the
-- attempts' UNIQUE (delivery_id, attempt) and both tables' PRIMARY KEY (id)
-- (ids come from one sequence per table). insert_attempts.sql therefore
-- uses ON CONFLICT DO NOTHING without a target: the leaf's unique index
-- decides.
--
-- Run totals are stored on campaign_runs when a run closes and kept current
-- when a delivery of a closed run changes (db/sql/refresh_run_totals.sql),
-- so that a run's summary outlives the partition of its deliveries.
-- campaign_run_summary reads them, and counts deliveries only for the runs
-- that have none (open runs, and runs closed before this migration).
--
-- Partitions are created ahead, by this migration, by `broadcaster migrate`
-- and by the daemon, with broadcaster_ensure_partitions. A DEFAULT partition
-- catches the rows of a month that has none yet; ensure_partitions moves
-- them into the month's partition when it creates it, and `check` warns
-- when it holds rows or when less than a month is left ahead.
--
-- The daemon runs as a role that owns nothing (deploy/least-privilege.sql):
-- the functions below are SECURITY DEFINER, owned by the role that migrates,
-- with search_path pinned to this schema, and executable only by the roles
-- granted it.

ALTER TABLE deliveries RENAME TO deliveries_legacy;
ALTER TABLE delivery_attempts RENAME TO delivery_attempts_legacy;
ALTER INDEX deliveries_pkey RENAME TO deliveries_legacy_pkey;
ALTER INDEX deliveries_run_id_wc_id_key RENAME TO deliveries_legacy_run_id_wc_id_key;
ALTER INDEX deliveries_pending_idx RENAME TO deliveries_legacy_pending_idx;
ALTER INDEX deliveries_sending_idx RENAME TO deliveries_legacy_sending_idx;
ALTER INDEX deliveries_open_run_idx RENAME TO deliveries_legacy_open_run_idx;
ALTER INDEX delivery_attempts_pkey RENAME TO delivery_attempts_legacy_pkey;
ALTER INDEX delivery_attempts_delivery_id_attempt_key RENAME TO delivery_attempts_legacy_delivery_id_attempt_key;
-- The parents carry the triggers from now on; attaching clones the row
-- trigger onto every partition.
DROP TRIGGER deliveries_status_transition ON deliveries_legacy;
DROP TRIGGER deliveries_delete_attempts ON deliveries_legacy;

-- The same columns in the same order as the legacy tables, so SELECT *,
-- reports and \copy keep their shape. run_created_at has no default here:
-- an insert that forgets it fails instead of landing in the wrong place.
CREATE TABLE deliveries (
    id               bigint NOT NULL DEFAULT nextval('deliveries_id_seq'),
    run_id           bigint NOT NULL
                     CONSTRAINT deliveries_run_id_fkey REFERENCES campaign_runs (id) ON DELETE CASCADE,
    campaign_id      bigint NOT NULL,
    wc_id            text NOT NULL,
    status           text NOT NULL DEFAULT 'pending'
                     CONSTRAINT deliveries_status_check CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'unknown', 'skipped')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_code        text NULL,
    last_error       text NULL,
    msg_id           bigint NULL,
    new_msg_id       bigint NULL,
    create_time      bigint NULL,
    msg_type         integer NULL,
    sent_at          timestamptz NULL,
    w_id             text NULL,
    claimed_by       text NULL,
    lease_until      timestamptz NULL,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    receipt_overflow jsonb NULL,
    run_created_at   timestamptz NOT NULL
) PARTITION BY RANGE (run_created_at);

CREATE TABLE delivery_attempts (
    id             bigint NOT NULL DEFAULT nextval('delivery_attempts_id_seq'),
    delivery_id    bigint NOT NULL,
    attempt        integer NOT NULL,
    w_id           text NULL,
    started_at     timestamptz NOT NULL,
    duration_ms    integer NOT NULL DEFAULT 0,
    http_status    integer NULL,
    code           text NULL,
    outcome        text NULL,
    error          text NULL,
    response       text NULL,
    run_created_at timestamptz NOT NULL
) PARTITION BY RANGE (run_created_at);

-- The sequences belong to the parents now: dropping the legacy partition
-- must not drop them (their names stay: grants and tests use them).
ALTER SEQUENCE deliveries_id_seq OWNED BY deliveries.id;
ALTER SEQUENCE delivery_attempts_id_seq OWNED BY delivery_attempts.id;

-- Exactly the legacy indexes, which the attach adopts.
CREATE INDEX deliveries_pending_idx ON deliveries (campaign_id, next_attempt_at, id)
    WHERE status = 'pending';
CREATE INDEX deliveries_sending_idx ON deliveries (lease_until)
    WHERE status = 'sending';
CREATE INDEX deliveries_open_run_idx ON deliveries (run_id)
    WHERE status IN ('pending', 'sending');

CREATE TRIGGER deliveries_status_transition
    BEFORE UPDATE OF status ON deliveries
    FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION broadcaster_check_delivery_transition();
CREATE TRIGGER deliveries_delete_attempts
    AFTER DELETE ON deliveries
    REFERENCING OLD TABLE AS deleted_deliveries
    FOR EACH STATEMENT EXECUTE FUNCTION broadcaster_delete_attempts();

ALTER TABLE deliveries ATTACH PARTITION deliveries_legacy
    FOR VALUES FROM (MINVALUE) TO ('2000-01-01 00:00:00+00');
ALTER TABLE delivery_attempts ATTACH PARTITION delivery_attempts_legacy
    FOR VALUES FROM (MINVALUE) TO ('2000-01-01 00:00:00+00');
-- The partition bound holds the legacy rows in now.
ALTER TABLE deliveries_legacy DROP CONSTRAINT deliveries_legacy_range;
ALTER TABLE delivery_attempts_legacy DROP CONSTRAINT delivery_attempts_legacy_range;
ALTER TABLE deliveries_legacy ALTER COLUMN run_created_at DROP DEFAULT;
ALTER TABLE delivery_attempts_legacy ALTER COLUMN run_created_at DROP DEFAULT;

CREATE TABLE deliveries_default PARTITION OF deliveries DEFAULT;
ALTER TABLE deliveries_default ADD PRIMARY KEY (id), ADD UNIQUE (run_id, wc_id);
CREATE TABLE delivery_attempts_default PARTITION OF delivery_attempts DEFAULT;
ALTER TABLE delivery_attempts_default ADD PRIMARY KEY (id), ADD UNIQUE (delivery_id, attempt);

-- Whoever could use the old tables can use the new parents (until
-- deploy/least-privilege.sql is run again, which grants the same).
DO $$
DECLARE
    g record;
BEGIN
    FOR g IN
        SELECT p.parent, a.privilege_type,
               CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(r.rolname) END AS grantee
        FROM (VALUES ('deliveries', 'deliveries_legacy'::regclass),
                     ('delivery_attempts', 'delivery_attempts_legacy'::regclass)) AS p (parent, legacy)
        JOIN pg_class c ON c.oid = p.legacy
        CROSS JOIN LATERAL aclexplode(c.relacl) a
        LEFT JOIN pg_roles r ON r.oid = a.grantee
        WHERE a.grantee <> c.relowner
    LOOP
        EXECUTE format('GRANT %s ON %I TO %s', g.privilege_type, g.parent, g.grantee);
    END LOOP;
END
$$;

-- Run totals: NULL while the run is open (and for runs closed before this
-- migration, until their partition is dropped); what campaign_run_summary
-- counts, stored when the run closes.
ALTER TABLE campaign_runs
    ADD COLUMN total    bigint NULL,
    ADD COLUMN sent     bigint NULL,
    ADD COLUMN failed   bigint NULL,
    ADD COLUMN unknown  bigint NULL,
    ADD COLUMN pending  bigint NULL,
    ADD COLUMN skipped  bigint NULL,
    ADD COLUMN attempts bigint NULL;

-- Same columns and results as before; the stored totals when present. The
-- condition inside the lateral subquery gates it (a one-time filter), so a
-- run with totals reads no delivery.
CREATE OR REPLACE VIEW campaign_run_summary AS
SELECT r.id                                                    AS run_id,
       r.campaign_id,
       c.name                                                  AS campaign_name,
       c.w_id,
       r.scheduled_for,
       r.status,
       coalesce(r.total, n.total)                              AS total,
       coalesce(r.sent, n.sent)                                AS sent,
       coalesce(r.failed, n.failed)                            AS failed,
       coalesce(r.unknown, n.unknown)                          AS unknown,
       coalesce(r.pending, n.pending)                          AS pending,
       coalesce(r.skipped, n.skipped)                          AS skipped,
       coalesce(r.attempts, n.attempts)                        AS attempts,
       round(coalesce(r.sent, n.sent)::numeric
             / nullif(coalesce(r.total, n.total) - coalesce(r.skipped, n.skipped), 0), 4) AS success_rate,
       r.started_at,
       r.finished_at
FROM campaign_runs r
JOIN campaigns c ON c.id = r.campaign_id
CROSS JOIN LATERAL (
    SELECT count(d.id)                                             AS total,
           count(d.id) FILTER (WHERE d.status = 'sent')            AS sent,
           count(d.id) FILTER (WHERE d.status = 'failed')          AS failed,
           count(d.id) FILTER (WHERE d.status = 'unknown')         AS unknown,
           count(d.id) FILTER (WHERE d.status IN ('pending', 'sending')) AS pending,
           count(d.id) FILTER (WHERE d.status = 'skipped')         AS skipped,
           coalesce(sum(d.attempts), 0)::bigint                    AS attempts
    FROM deliveries d
    WHERE r.total IS NULL AND d.run_id = r.id
) n;

-- One row per pair of partitions (deliveries, delivery_attempts), oldest
-- first, the DEFAULT pair last: what prune and check look at. kind is
-- 'legacy' (the tables from before 0008, range_from -infinity), 'month' or
-- 'default' (no range). open_runs counts the runs still pending or running
-- that have deliveries in the partition: such a partition is never dropped.
CREATE VIEW broadcaster_partitions AS
WITH parts AS (
    SELECT i.inhparent AS parent, c.oid, c.relname::text AS name,
           pg_get_expr(c.relpartbound, c.oid) AS bound
    FROM pg_inherits i
    JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent IN ('deliveries'::regclass, 'delivery_attempts'::regclass)
), ranged AS (
    SELECT p.*, m[1] AS lo, m[2] AS hi
    FROM parts p
    LEFT JOIN LATERAL regexp_match(p.bound, '^FOR VALUES FROM \((.*)\) TO \((.*)\)$') m ON true
), pairs AS (
    SELECT d.oid,
           d.name AS deliveries_partition,
           a.name AS attempts_partition,
           CASE WHEN d.bound = 'DEFAULT' THEN 'default'
                WHEN d.lo = 'MINVALUE' THEN 'legacy'
                ELSE 'month' END AS kind,
           CASE WHEN d.lo = 'MINVALUE' THEN '-infinity'::timestamptz
                ELSE btrim(d.lo, '''')::timestamptz END AS range_from,
           btrim(d.hi, '''')::timestamptz AS range_to
    FROM ranged d
    LEFT JOIN ranged a ON a.parent = 'delivery_attempts'::regclass AND a.bound = d.bound
    WHERE d.parent = 'deliveries'::regclass
)
SELECT p.deliveries_partition, p.attempts_partition, p.kind, p.range_from, p.range_to,
       (SELECT count(*)
        FROM campaign_runs r
        WHERE r.status IN ('pending', 'running')
          AND EXISTS (SELECT 1 FROM deliveries x WHERE x.run_id = r.id AND x.tableoid = p.oid)) AS open_runs
FROM pairs p
ORDER BY p.kind = 'default', p.range_from;

-- How many rows wait in the DEFAULT partitions, for a month that had no
-- partition of its own when they were written: `check` warns when any do.
-- (A view, so that a role reading it needs no right on the partitions.)
CREATE VIEW broadcaster_default_partition_rows AS
SELECT (SELECT count(*) FROM deliveries_default) AS deliveries,
       (SELECT count(*) FROM delivery_attempts_default) AS attempts;

-- Creates the partition name of parent for [lo, hi), with its unique keys
-- (keys: the column list besides the primary key), and moves into it the
-- rows of that range that wait in the DEFAULT partition. Returns whether it
-- created it. Called by broadcaster_ensure_partitions only.
CREATE FUNCTION broadcaster_create_partition(parent text, name text, keys text, lo timestamptz, hi timestamptz)
RETURNS boolean LANGUAGE plpgsql SET "TimeZone" = 'UTC' SET "DateStyle" = 'ISO, YMD' AS $$
BEGIN
    IF to_regclass(quote_ident(name)) IS NOT NULL THEN
        RETURN false;
    END IF;
    -- Created apart, filled from the DEFAULT partition, then attached: the
    -- attach checks the DEFAULT partition holds no row of the range.
    EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', name, parent);
    EXECUTE format('ALTER TABLE %I ADD PRIMARY KEY (id), ADD UNIQUE (%s)', name, keys);
    EXECUTE format('WITH moved AS (DELETE FROM %I WHERE run_created_at >= $1 AND run_created_at < $2 RETURNING *)
                    INSERT INTO %I SELECT * FROM moved', parent || '_default', name) USING lo, hi;
    EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', parent, name, lo, hi);
    RETURN true;
END
$$;

-- Creates every missing monthly partition (UTC months) of deliveries and
-- delivery_attempts from the month of now to months_ahead months later,
-- named deliveries_pYYYY_MM and delivery_attempts_pYYYY_MM, and returns how
-- many months it created. Idempotent, and safe when several instances call
-- it at once: an advisory lock serialises them, and the later ones find the
-- partitions there. Called by `broadcaster migrate` and by the daemon.
CREATE FUNCTION broadcaster_ensure_partitions(now timestamptz, months_ahead int)
RETURNS int LANGUAGE plpgsql SECURITY DEFINER SET lock_timeout = '10s' AS $$
DECLARE
    first timestamp := date_trunc('month', now AT TIME ZONE 'UTC');
    lo timestamp;
    suffix text;
    made boolean;
    created int := 0;
BEGIN
    IF now IS NULL OR months_ahead IS NULL OR months_ahead < 0 OR months_ahead > 120 THEN
        RAISE EXCEPTION 'broadcaster_ensure_partitions(%, %): want a time and 0 to 120 months ahead', now, months_ahead
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM pg_advisory_xact_lock(7093015830337119342); -- 'broadcaster partitions'
    FOR i IN 0 .. months_ahead LOOP
        lo := first + make_interval(months => i);
        suffix := to_char(lo, '"p"YYYY_MM');
        made := broadcaster_create_partition('deliveries', 'deliveries_' || suffix, 'run_id, wc_id',
                                             lo AT TIME ZONE 'UTC', (lo + interval '1 month') AT TIME ZONE 'UTC');
        made := broadcaster_create_partition('delivery_attempts', 'delivery_attempts_' || suffix, 'delivery_id, attempt',
                                             lo AT TIME ZONE 'UTC', (lo + interval '1 month') AT TIME ZONE 'UTC') OR made;
        IF made THEN
            created := created + 1;
        END IF;
    END LOOP;
    RETURN created;
END
$$;

-- Locks both partitions of a pair IN SHARE MODE to the end of the caller's
-- transaction: reads go on, writes to them (late results) wait, so that an
-- archive taken in the same transaction is exactly what
-- broadcaster_drop_partition then drops. Mind that every UPDATE through the
-- parents (claims, results) locks every partition when it is planned, so
-- while this lock is held all of them wait, not only those for this pair;
-- and broadcaster_drop_partition in the same transaction then waits for
-- them in turn (a deadlock, which PostgreSQL breaks by failing the drop).
-- For a partition that takes long to archive, prefer
-- broadcaster_seal_partition, committed before the archive.
CREATE FUNCTION broadcaster_lock_partition(deliveries_partition text)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET lock_timeout = '10s' AS $$
DECLARE
    p broadcaster_partitions;
BEGIN
    SELECT * INTO p FROM broadcaster_partitions bp WHERE bp.deliveries_partition = $1;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no partition of deliveries is named %', $1 USING ERRCODE = 'undefined_table';
    END IF;
    EXECUTE format('LOCK TABLE %I, %I IN SHARE MODE', p.deliveries_partition, p.attempts_partition);
END
$$;

-- A sealed partition ignores writes: its rows can be archived at leisure, in
-- any transaction, and are exactly what broadcaster_drop_partition drops.
CREATE FUNCTION broadcaster_sealed_partition() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RETURN NULL; -- a late result for a partition on its way out is dropped
END
$$;

-- Seals both partitions of a pair: from the commit of the caller's
-- transaction, inserts and updates of their rows are skipped (a late result
-- for them is lost, as it would be once they are dropped; deletes go on).
-- Refuses the DEFAULT pair and a pair holding open runs, like
-- broadcaster_drop_partition (SQLSTATE 55006), since sealing those would
-- strand deliveries still to send. It holds SHARE ROW EXCLUSIVE on the pair
-- only to the end of the caller's transaction, which should commit at once:
-- writes wait meanwhile. Idempotent.
CREATE FUNCTION broadcaster_seal_partition(deliveries_partition text)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET lock_timeout = '5s' AS $$
DECLARE
    p broadcaster_partitions;
    open bigint;
    t text;
BEGIN
    SELECT * INTO p FROM broadcaster_partitions bp WHERE bp.deliveries_partition = $1;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no partition of deliveries is named %', $1 USING ERRCODE = 'undefined_table';
    END IF;
    IF p.kind = 'default' THEN
        RAISE EXCEPTION 'partition % is the DEFAULT partition, the safety net for months without one: it is never sealed', $1
            USING ERRCODE = 'object_in_use';
    END IF;
    FOREACH t IN ARRAY ARRAY[p.deliveries_partition, p.attempts_partition] LOOP
        EXECUTE format('CREATE OR REPLACE TRIGGER broadcaster_sealed BEFORE INSERT OR UPDATE ON %I
                        FOR EACH ROW EXECUTE FUNCTION broadcaster_sealed_partition()', t);
    END LOOP;
    -- After the trigger's lock: no run of this pair can change any more.
    EXECUTE format('SELECT count(*) FROM campaign_runs r
                    WHERE r.status IN (''pending'', ''running'')
                      AND EXISTS (SELECT 1 FROM %I d WHERE d.run_id = r.id)', p.deliveries_partition) INTO open;
    IF open > 0 THEN
        RAISE EXCEPTION 'partition % holds % open run(s): it is sealed once they complete or are cancelled', $1, open
            USING ERRCODE = 'object_in_use';
    END IF;
END
$$;

-- Drops a pair of partitions: the deliveries partition and the attempts
-- partition of the same range. Refuses the DEFAULT pair and any pair that
-- holds a run still pending or running (SQLSTATE 55006, object_in_use).
-- First stores the totals of its closed runs, counted from its rows (runs
-- closed before 0008 have none yet), so their summaries survive. DROP TABLE of a partition detaches it;
-- it takes ACCESS EXCLUSIVE on the parents, so lock_timeout keeps it from
-- queueing all traffic behind it for long: on timeout it fails (55P03),
-- and the caller tries again later. Its cost depends on this partition
-- only (the totals it stores), never on the size of the others.
CREATE FUNCTION broadcaster_drop_partition(deliveries_partition text)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET lock_timeout = '5s' AS $$
DECLARE
    p broadcaster_partitions;
    open bigint;
BEGIN
    SELECT * INTO p FROM broadcaster_partitions bp WHERE bp.deliveries_partition = $1;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no partition of deliveries is named %', $1 USING ERRCODE = 'undefined_table';
    END IF;
    IF p.kind = 'default' THEN
        RAISE EXCEPTION 'partition % is the DEFAULT partition, the safety net for months without one: it is never dropped', $1
            USING ERRCODE = 'object_in_use';
    END IF;
    -- The totals of its closed runs, counted again from the sealed rows
    -- (not only where none are stored: a late result racing its run's close
    -- can have left a stored total behind, and after the drop the stored
    -- totals are all the audit keeps). Closed runs stay closed, so this can
    -- run before the lock is taken. One pass over this partition, grouped
    -- by run: never a walk of all runs.
    EXECUTE format('UPDATE campaign_runs r
                    SET (total, sent, failed, unknown, pending, skipped, attempts) =
                        (t.total, t.sent, t.failed, t.unknown, t.pending, t.skipped, t.attempts)
                    FROM (SELECT d.run_id, count(*) AS total,
                                 count(*) FILTER (WHERE d.status = ''sent'') AS sent,
                                 count(*) FILTER (WHERE d.status = ''failed'') AS failed,
                                 count(*) FILTER (WHERE d.status = ''unknown'') AS unknown,
                                 count(*) FILTER (WHERE d.status IN (''pending'', ''sending'')) AS pending,
                                 count(*) FILTER (WHERE d.status = ''skipped'') AS skipped,
                                 coalesce(sum(d.attempts), 0) AS attempts
                          FROM %I d GROUP BY d.run_id) t
                    WHERE r.id = t.run_id
                      AND r.status IN (''completed'', ''cancelled'')', p.deliveries_partition);
    -- The parents first, in the order every query takes them, then the
    -- pair: nothing changes between the checks below and the drop. ONLY:
    -- the other partitions need no lock of their own, since every query
    -- reaches them through the parents.
    LOCK TABLE ONLY deliveries, ONLY delivery_attempts IN ACCESS EXCLUSIVE MODE;
    EXECUTE format('SELECT count(*) FROM campaign_runs r
                    WHERE r.status IN (''pending'', ''running'')
                      AND EXISTS (SELECT 1 FROM %I d WHERE d.run_id = r.id)', p.deliveries_partition) INTO open;
    IF open > 0 THEN
        RAISE EXCEPTION 'partition % holds % open run(s): it is dropped once they complete or are cancelled', $1, open
            USING ERRCODE = 'object_in_use';
    END IF;
    EXECUTE format('DROP TABLE %I', p.attempts_partition);
    EXECUTE format('DROP TABLE %I', p.deliveries_partition);
END
$$;

-- Pinned to this schema (pg_temp last), whatever the caller's search_path;
-- run only by the roles granted it (deploy/least-privilege.sql).
DO $$
DECLARE
    f text;
BEGIN
    FOREACH f IN ARRAY ARRAY['broadcaster_create_partition(text, text, text, timestamptz, timestamptz)',
                             'broadcaster_ensure_partitions(timestamptz, int)',
                             'broadcaster_lock_partition(text)',
                             'broadcaster_seal_partition(text)',
                             'broadcaster_drop_partition(text)'] LOOP
        EXECUTE format('ALTER FUNCTION %s SET search_path = %I, pg_temp', f, current_schema());
        EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
    END LOOP;
END
$$;

SELECT broadcaster_ensure_partitions(now(), 2);
