-- broadcaster schema: the whole of it, in one file, for reading.
--
-- GENERATED from migrations/*.sql by `make schema`: do not edit; a test keeps
-- it equal. Databases are created and upgraded only by `broadcaster migrate`,
-- which applies the numbered migrations below in order, each once, and
-- records them in broadcaster_migrations.

-- ==== migrations/0001_initial.sql ====

-- broadcaster schema (SPEC §3). Applied by `broadcaster migrate`.
--
-- Every statement is idempotent, so the file can be applied again after an
-- upgrade; `migrate` runs it in one transaction under an advisory lock, so two
-- processes migrating at once both succeed. Table and column names are a
-- public interface: operators insert campaigns and read reports with SQL.

CREATE TABLE IF NOT EXISTS schema_version (
    version    integer PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS applet_templates (
    id         bigserial PRIMARY KEY,
    name       text NOT NULL UNIQUE,
    img_url    text NOT NULL,
    content    text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS recipient_lists (
    id         bigserial PRIMARY KEY,
    name       text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS recipient_list_members (
    list_id  bigint NOT NULL REFERENCES recipient_lists (id) ON DELETE CASCADE,
    wc_id    text NOT NULL,
    added_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (list_id, wc_id)
);

-- Recipients that are never sent to, whatever campaign or list names them.
CREATE TABLE IF NOT EXISTS suppressions (
    wc_id      text PRIMARY KEY,
    reason     text,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS campaigns (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL,
    template_id bigint REFERENCES applet_templates (id),
    w_id        text NOT NULL DEFAULT '',
    recipients  text[] NOT NULL DEFAULT '{}',
    list_ids    bigint[] NOT NULL DEFAULT '{}',
    schedule    text NULL,
    start_at    timestamptz NOT NULL DEFAULT now(),
    end_at      timestamptz NULL,
    status      text NOT NULL DEFAULT 'active'
                CHECK (status IN ('active', 'paused', 'cancelled', 'completed', 'invalid')),
    error       text NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS campaigns_active_idx ON campaigns (start_at) WHERE status = 'active';
-- Claims look up each sending account's active campaigns.
CREATE INDEX IF NOT EXISTS campaigns_active_w_id_idx ON campaigns (w_id) WHERE status = 'active';

CREATE TABLE IF NOT EXISTS campaign_runs (
    id            bigserial PRIMARY KEY,
    campaign_id   bigint NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    scheduled_for timestamptz NOT NULL,
    status        text NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'running', 'completed', 'cancelled')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    started_at    timestamptz NULL,
    finished_at   timestamptz NULL,
    -- Why a run was cancelled: the campaign was cancelled, or the firing was
    -- skipped because the previous run was still sending.
    note          text NULL,
    UNIQUE (campaign_id, scheduled_for)
);

CREATE INDEX IF NOT EXISTS campaign_runs_open_idx ON campaign_runs (campaign_id)
    WHERE status IN ('pending', 'running');

CREATE TABLE IF NOT EXISTS deliveries (
    id              bigserial PRIMARY KEY,
    run_id          bigint NOT NULL REFERENCES campaign_runs (id) ON DELETE CASCADE,
    -- Denormalised from the run for reports and claims. No foreign key of its
    -- own: the run's already ties it to the campaign (and cascades), and a
    -- second per-row check would cost a third of a 100,000-recipient fan-out.
    campaign_id     bigint NOT NULL,
    wc_id           text NOT NULL,
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'unknown', 'skipped')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_code       text NULL,
    last_error      text NULL,
    msg_id          bigint NULL,
    new_msg_id      bigint NULL,
    create_time     bigint NULL,
    msg_type        integer NULL,
    sent_at         timestamptz NULL,
    -- The account the last attempt was sent from: campaigns.w_id may change
    -- mid-run when the bot logs in again, and audits need the real sender.
    w_id            text NULL,
    -- While status is 'sending': who holds the delivery and until when. A
    -- holder that dies lets the lease run out, and another process reaps it.
    claimed_by      text NULL,
    lease_until     timestamptz NULL,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (run_id, wc_id)
);

-- Claims walk each sending account's campaigns in due order.
CREATE INDEX IF NOT EXISTS deliveries_pending_idx ON deliveries (campaign_id, next_attempt_at, id)
    WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS deliveries_sending_idx ON deliveries (lease_until)
    WHERE status = 'sending';
-- Completing a run asks whether any of its deliveries is still open.
CREATE INDEX IF NOT EXISTS deliveries_open_run_idx ON deliveries (run_id)
    WHERE status IN ('pending', 'sending');

CREATE TABLE IF NOT EXISTS delivery_attempts (
    id          bigserial PRIMARY KEY,
    delivery_id bigint NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    attempt     integer NOT NULL,
    w_id        text NULL,
    started_at  timestamptz NOT NULL,
    duration_ms integer NOT NULL DEFAULT 0,
    http_status integer NULL,
    code        text NULL,
    outcome     text NULL,
    error       text NULL,
    response    text NULL,
    -- A result written again after a database outage must not be counted twice.
    UNIQUE (delivery_id, attempt)
);

-- Per sending account (w_id): pacing and circuit-breaker state. It lives in
-- the database so that the limits hold for all instances together (SPEC §6).
-- Rows appear when an account first sends; operators may read them, or clear
-- paused_until to lift a breaker early.
CREATE TABLE IF NOT EXISTS sending_accounts (
    w_id                 text PRIMARY KEY,
    -- Token bucket: tokens left at refilled_at; refills at rate_limit.per_account
    -- per second up to rate_limit.burst.
    tokens               double precision NOT NULL DEFAULT 0,
    refilled_at          timestamptz NOT NULL DEFAULT now(),
    -- No send before this: the random 0..rate_limit.jitter pause.
    not_before           timestamptz NOT NULL DEFAULT '-infinity',
    -- Circuit breaker: failed attempts in a row and when the last one was.
    -- With breaker.consecutive_failures or more, the account rests until
    -- last_failure_at + breaker.cool_down, then one probe is sent.
    consecutive_failures integer NOT NULL DEFAULT 0,
    last_failure_at      timestamptz NULL,
    -- Set while the breaker's probe is in flight, so only one goes; cleared
    -- by its result, or run out (the probe's lease) if its sender died.
    probe_until          timestamptz NULL,
    -- Operators may set this to rest an account by hand; broadcaster only
    -- reads it.
    paused_until         timestamptz NULL,
    updated_at           timestamptz NOT NULL DEFAULT now()
);

-- broadcaster_wcid_problem says why a wcId cannot be sent to, or NULL when it
-- can. Run creation uses it to turn bad recipients into skipped deliveries;
-- operators can use it to clean their lists.
CREATE OR REPLACE FUNCTION broadcaster_wcid_problem(wc_id text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN wc_id IS NULL OR wc_id = '' THEN 'invalid wcId: empty'
        WHEN wc_id <> btrim(wc_id, E' \t\r\n') THEN 'invalid wcId: leading or trailing whitespace'
        WHEN wc_id ~ '[[:cntrl:]]' THEN 'invalid wcId: control character'
        WHEN wc_id ~ '\s' THEN 'invalid wcId: contains whitespace'
        WHEN length(wc_id) > 128 THEN 'invalid wcId: longer than 128 characters'
    END
$$;

CREATE OR REPLACE FUNCTION broadcaster_touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$;

DROP TRIGGER IF EXISTS campaigns_touch_updated_at ON campaigns;
CREATE TRIGGER campaigns_touch_updated_at
    BEFORE UPDATE ON campaigns
    FOR EACH ROW EXECUTE FUNCTION broadcaster_touch_updated_at();

-- Running daemons LISTEN on this channel: a campaign inserted with SQL starts
-- sending at once, and a status change (pause, cancel) takes effect at once.
CREATE OR REPLACE FUNCTION broadcaster_notify_campaign() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('broadcaster_campaigns',
        json_build_object('id', NEW.id, 'status', NEW.status, 'op', lower(TG_OP))::text);
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS campaigns_notify ON campaigns;
CREATE TRIGGER campaigns_notify
    AFTER INSERT OR UPDATE ON campaigns
    FOR EACH ROW EXECUTE FUNCTION broadcaster_notify_campaign();

-- One row per run. `pending` counts deliveries pending or sending;
-- success_rate is sent / (total - skipped), NULL when nothing was sendable.
CREATE OR REPLACE VIEW campaign_run_summary AS
SELECT r.id                                                    AS run_id,
       r.campaign_id,
       c.name                                                  AS campaign_name,
       c.w_id,
       r.scheduled_for,
       r.status,
       count(d.id)                                             AS total,
       count(d.id) FILTER (WHERE d.status = 'sent')            AS sent,
       count(d.id) FILTER (WHERE d.status = 'failed')          AS failed,
       count(d.id) FILTER (WHERE d.status = 'unknown')         AS unknown,
       count(d.id) FILTER (WHERE d.status IN ('pending', 'sending')) AS pending,
       count(d.id) FILTER (WHERE d.status = 'skipped')         AS skipped,
       coalesce(sum(d.attempts), 0)::bigint                    AS attempts,
       round(count(d.id) FILTER (WHERE d.status = 'sent')::numeric
             / nullif(count(d.id) FILTER (WHERE d.status <> 'skipped'), 0), 4) AS success_rate,
       r.started_at,
       r.finished_at
FROM campaign_runs r
JOIN campaigns c ON c.id = r.campaign_id
LEFT JOIN deliveries d ON d.run_id = r.id
GROUP BY r.id, c.id;

INSERT INTO schema_version (version) VALUES (1) ON CONFLICT DO NOTHING;

-- ==== migrations/0002_delivery_state_machine.sql ====

-- The delivery state machine (campaign.DeliveryTransitions), enforced in one
-- place for every writer: broadcaster, a newer or older release during a
-- rolling update, and operators with psql. A change of status the machine
-- does not allow (a sent delivery made pending again, say, which would send
-- it twice) is refused with SQLSTATE 23514 (check_violation).
--
-- Expand only: the first release makes no transition this refuses.
CREATE OR REPLACE FUNCTION broadcaster_delivery_transition_allowed(from_status text, to_status text)
RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE from_status
        WHEN 'pending' THEN to_status IN ('sending', 'skipped', 'sent', 'failed', 'unknown')
        WHEN 'sending' THEN to_status IN ('sent', 'failed', 'unknown', 'pending')
        WHEN 'unknown' THEN to_status IN ('sent', 'failed', 'pending')
        ELSE false
    END
$$;

CREATE OR REPLACE FUNCTION broadcaster_check_delivery_transition() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT broadcaster_delivery_transition_allowed(OLD.status, NEW.status) THEN
        RAISE EXCEPTION 'delivery %: status % cannot become %', OLD.id, OLD.status, NEW.status
            USING ERRCODE = 'check_violation',
                  HINT = 'sent, failed and skipped are final; to send again, create a new run';
    END IF;
    RETURN NEW;
END
$$;

-- WHEN keeps the trigger off updates that leave the status alone.
CREATE TRIGGER deliveries_status_transition
    BEFORE UPDATE OF status ON deliveries
    FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION broadcaster_check_delivery_transition();

-- ==== migrations/0003_receipt_overflow.sql ====

-- A receipt id that does not fit its bigint column (beyond 2^63-1, in float
-- notation, not a number) is kept exactly here, by the API's field name, e.g.
-- {"newMsgId": "18446744073709551615"}; NULL when every id fits (SPEC §3).
--
-- Expand only: a nullable column the first release ignores.
ALTER TABLE deliveries ADD COLUMN receipt_overflow jsonb;

-- ==== migrations/0004_api_outage.sql ====

-- The global pause of sending (SPEC §6). One row, shared by every instance.
-- Failures of the API as a whole (connection refused, DNS, TLS, timeouts,
-- 5xx) say nothing about one account: instead of resting every account's
-- breaker they pause all sending here. since is NULL while the API answers.
-- While it is set, no instance claims deliveries except one probe: the
-- instance named in probe_owner (until probe_until, in case it died) sends
-- one real delivery once paused_until has passed; an API answer clears since,
-- and sending resumes everywhere. Operators can read why (last_error) and
-- since when; to resume by hand, set since to NULL.
--
-- Expand only: a new table the first release ignores.
CREATE TABLE api_outage (
    id           boolean PRIMARY KEY DEFAULT true CHECK (id),
    since        timestamptz NULL,
    opened_by    text NULL,        -- the instance that found the outage
    paused_until timestamptz NULL, -- no probe before this
    last_error   text NULL,        -- of the failure that opened or prolonged it
    probe_owner  text NULL,
    probe_until  timestamptz NULL,
    updated_at   timestamptz NOT NULL DEFAULT now()
);
INSERT INTO api_outage (id) VALUES (true);

-- ==== migrations/0005_account_ready_at.sql ====

-- When a sending account may next send (SPEC §6): the one home of the
-- readiness rule that claim.sql (who may send now) and outstanding.sql (when
-- the next send may go) both apply, so the two can never disagree. The
-- latest of:
--   its jitter pause (not_before), an operator's or the breaker's rest
--   (paused_until), a probe in flight (probe_until), the refill of its next
--   token at rate per second (0: unlimited), and the end of the breaker's
--   cool-down after breaker_failures failed attempts in a row (0: off).
-- NULL parts are ignored (greatest() skips NULLs); a row that holds no wait
-- is ready at -infinity.
--
-- Expand only: a new function the first release does not call.
CREATE FUNCTION broadcaster_account_ready_at(
    not_before timestamptz, paused_until timestamptz, probe_until timestamptz,
    tokens float8, refilled_at timestamptz,
    consecutive_failures int, last_failure_at timestamptz,
    rate float8, breaker_failures int, cool_down_ms bigint)
RETURNS timestamptz LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT greatest('-infinity'::timestamptz,
                    not_before,
                    paused_until,
                    probe_until,
                    CASE WHEN rate > 0 AND tokens < 1
                         THEN refilled_at + (1 - tokens) / rate * interval '1 second' END,
                    CASE WHEN breaker_failures > 0 AND consecutive_failures >= breaker_failures
                         THEN last_failure_at + cool_down_ms * interval '1 millisecond' END)
$$;

-- ==== migrations/0006_partition_key.sql ====

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

-- ==== migrations/0007_validate_partition_key.sql ====

-- Validates 0006's checks: every existing row has run_created_at
-- '-infinity', which lets 0008 attach the tables as the legacy partition
-- without scanning them. A migration of its own, so that this scan of the
-- whole tables runs under SHARE UPDATE EXCLUSIVE (reads and writes go on)
-- and not under the ACCESS EXCLUSIVE lock that 0006's ALTER TABLEs hold to
-- the end of their transaction.
ALTER TABLE deliveries VALIDATE CONSTRAINT deliveries_legacy_range;
ALTER TABLE delivery_attempts VALIDATE CONSTRAINT delivery_attempts_legacy_range;

-- ==== migrations/0008_partitions.sql ====

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

-- ==== migrations/0009_resend_of.sql ====

-- Re-sending a run's failures (`broadcaster resend`, SPEC §3): a resend is a
-- new run of the same campaign, for exactly the recipients of the run it
-- repeats (resend_of) whose delivery ended failed and/or unknown.
--
-- Expand only: new columns, an index, a view and a function the previous
-- release ignores (its queries never see resend_of, so they treat a resend
-- run as an ordinary one: it is sent while the campaign is active).

-- The run a resend repeats; NULL for a run made by the scheduler.
-- render_date_of is the instant its {{date}} renders from: the first run's
-- scheduled_for, so that a resend (of a resend…) renders as the original
-- did although its own scheduled_for is the time of the request. NULL: the
-- run's own scheduled_for.
ALTER TABLE campaign_runs
    ADD COLUMN resend_of bigint NULL REFERENCES campaign_runs (id) ON DELETE SET NULL,
    ADD COLUMN render_date_of timestamptz NULL;

-- Finds the resend of a run (one at most: resend refuses a second), and
-- reports' link back. Partial: almost every run is not a resend.
CREATE INDEX campaign_runs_resend_of_idx ON campaign_runs (resend_of)
    WHERE resend_of IS NOT NULL;
-- The open resend runs, which let a completed campaign send (below).
CREATE INDEX campaign_runs_open_resend_idx ON campaign_runs (campaign_id)
    WHERE resend_of IS NOT NULL AND status IN ('pending', 'running');

-- The campaigns whose pending deliveries may be sent now: the active ones,
-- and the completed ones that have an open resend run (a resend of a
-- finished campaign still goes out; a paused, cancelled or invalid one sends
-- nothing). The one home of that rule for every query that gates sending:
-- claims, what is left to send, templates to prepare, pacing rows, progress.
-- Through broadcaster, a completed campaign has no open run but its
-- resends: a one-shot completes with its run, a recurring one only when no
-- run is open.
CREATE VIEW sending_campaigns AS
SELECT c.id, c.w_id, c.template_id, c.status
FROM campaigns c
WHERE c.status = 'active'
UNION ALL
SELECT c.id, c.w_id, c.template_id, c.status
FROM campaigns c
WHERE c.status = 'completed'
  AND c.id IN (SELECT r.campaign_id FROM campaign_runs r
               WHERE r.resend_of IS NOT NULL AND r.status IN ('pending', 'running'));

-- ==== migrations/0010_audit_log.sql ====

-- Who did what, when and from where (issue 12): every write made through the
-- console and `broadcaster resend`, and every change of a campaign's status,
-- whoever makes it — with psql too.
--
-- Expand only: a new table and a trigger; the previous release's own status
-- changes (completion, invalidity) are recorded like any other.
CREATE TABLE audit_log (
    id         bigserial PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    -- The operator's name (given at the console's login, X-Operator, $USER),
    -- or session_user for a write made with plain SQL. A claim: whoever may
    -- write to the database may name anyone (db_role is what is known).
    who        text NOT NULL,
    -- How they got in: console-write, bearer-write, cli; daemon for
    -- broadcaster's own status changes; sql for plain SQL.
    credential text NOT NULL,
    -- The client's address; NULL when not known (a local socket).
    address    text NULL,
    -- pause, resume, cancel, resend; complete, invalidate, activate for the
    -- other status changes.
    action     text NOT NULL,
    -- What it was done to: 'campaign 12', 'run 34'.
    target     text NOT NULL,
    -- The particulars: statuses before and after, a resend's counts.
    detail     jsonb NOT NULL DEFAULT '{}',
    -- The database role that really made the change (session_user: the
    -- login, which neither SET ROLE nor a SECURITY DEFINER function
    -- changes), stamped by the trigger below whatever the writer gave.
    db_role    text NOT NULL DEFAULT session_user
);

-- The console and reports read the newest entries first.
CREATE INDEX audit_log_at_idx ON audit_log (at DESC, id DESC);

-- Stamps every row with the role that wrote it, so that a role granted
-- INSERT on audit_log (the Go API's resend row) cannot name another.
CREATE FUNCTION broadcaster_audit_stamp() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.db_role := session_user;
    RETURN NEW;
END
$$;

CREATE TRIGGER audit_log_stamp
    BEFORE INSERT ON audit_log
    FOR EACH ROW EXECUTE FUNCTION broadcaster_audit_stamp();

-- Records a change of campaigns.status. The one writer of these rows: the
-- Go API (pause, resume, cancel) and the daemon (complete, invalidate) set
-- transaction-local settings broadcaster.actor, broadcaster.credential and
-- broadcaster.address before their UPDATE, and this trigger writes the row
-- with them; a change made with SQL has none set (a setting set in an
-- earlier transaction of the session reads '' afterwards), so it is
-- recorded as session_user with credential 'sql' and the client's address.
-- Any session may set those settings, so they are only a claim: db_role
-- holds the role that made the change.
--
-- It runs with its owner's rights (SECURITY DEFINER), so that a role that
-- may change campaigns needs no grant on audit_log for this to record it:
-- the upgrade breaks no operator's role. Its search_path is pinned and
-- EXECUTE revoked from PUBLIC below, so that no other trigger can call it.
CREATE FUNCTION broadcaster_audit_campaign_status() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    actor text := nullif(current_setting('broadcaster.actor', true), '');
BEGIN
    INSERT INTO audit_log (who, credential, address, action, target, detail)
    VALUES (
        coalesce(actor, session_user::text),
        coalesce(nullif(current_setting('broadcaster.credential', true), ''),
                 CASE WHEN actor IS NULL THEN 'sql' ELSE 'unknown' END),
        CASE WHEN actor IS NULL THEN host(inet_client_addr())
             ELSE nullif(current_setting('broadcaster.address', true), '') END,
        CASE
            WHEN NEW.status = 'paused' THEN 'pause'
            WHEN NEW.status = 'active' AND OLD.status = 'paused' THEN 'resume'
            WHEN NEW.status = 'active' THEN 'activate'
            WHEN NEW.status = 'cancelled' THEN 'cancel'
            WHEN NEW.status = 'completed' THEN 'complete'
            WHEN NEW.status = 'invalid' THEN 'invalidate'
            ELSE 'status'
        END,
        'campaign ' || NEW.id,
        jsonb_build_object('from', OLD.status, 'to', NEW.status,
                           'application_name', current_setting('application_name')));
    RETURN NULL;
END
$$;

CREATE TRIGGER campaigns_audit_status
    AFTER UPDATE OF status ON campaigns
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION broadcaster_audit_campaign_status();

-- Pinned to this schema (pg_temp last), whatever the caller's search_path,
-- as 0008 pins its functions; callable by no one but their owner (a trigger
-- runs its function without checking EXECUTE: only creating one needs it).
DO $$
DECLARE
    f text;
BEGIN
    FOREACH f IN ARRAY ARRAY['broadcaster_audit_stamp()',
                             'broadcaster_audit_campaign_status()'] LOOP
        EXECUTE format('ALTER FUNCTION %s SET search_path = %I, pg_temp', f, current_schema());
        EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
    END LOOP;
END
$$;

-- ==== migrations/0011_console.sql ====

-- The operator console (issue 12) searches a recipient's deliveries by wcId
-- ("why did this customer get nothing?") and counts each account's sends of
-- the day. Without these indexes both read every delivery ever made. On a
-- partitioned deliveries table an index on the parent applies to every
-- partition. (wc_id) alone, not (wc_id, id): its entries deduplicate, and a
-- recipient has one delivery per run it was in, sorted after the lookup.
-- Building them blocks writes to deliveries while it runs (a migration is
-- one transaction, so not CONCURRENTLY): seconds per million rows. Where
-- the legacy partition is large, operators build its two indexes first with
-- CREATE INDEX CONCURRENTLY (README, "Upgrading"), and CREATE INDEX on the
-- parent adopts them instead of building them again.
--
-- Expand only: new indexes the previous release does not use.
CREATE INDEX IF NOT EXISTS deliveries_wc_id_idx ON deliveries (wc_id);
CREATE INDEX IF NOT EXISTS deliveries_w_id_sent_idx ON deliveries (w_id, sent_at)
    WHERE sent_at IS NOT NULL;

-- ==== migrations/0012_plans.sql ====

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
