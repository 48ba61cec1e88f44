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

-- ==== migrations/0006_reserved_partition.sql ====

-- Reserved for the partition branch's migration 0006 (deliveries and
-- delivery_attempts partitioned by run_created_at), so that this branch's
-- 0009 and 0010 keep their numbers: the numbers run without gaps. Delete
-- this file when merging that branch.
SELECT 1;

-- ==== migrations/0007_reserved_partition.sql ====

-- Reserved for the partition branch's migration 0007 (deliveries and
-- delivery_attempts partitioned by run_created_at), so that this branch's
-- 0009 and 0010 keep their numbers: the numbers run without gaps. Delete
-- this file when merging that branch.
SELECT 1;

-- ==== migrations/0008_reserved_partition.sql ====

-- Reserved for the partition branch's migration 0008 (deliveries and
-- delivery_attempts partitioned by run_created_at), so that this branch's
-- 0009 and 0010 keep their numbers: the numbers run without gaps. Delete
-- this file when merging that branch.
SELECT 1;

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
    -- or current_user for a write made with plain SQL.
    who        text NOT NULL,
    -- How they got in: console-write, bearer-write, cli; sql for plain SQL.
    credential text NOT NULL,
    -- The client's address; NULL when not known (a local socket).
    address    text NULL,
    -- pause, resume, cancel, resend; complete, invalidate, activate for the
    -- other status changes.
    action     text NOT NULL,
    -- What it was done to: 'campaign 12', 'run 34'.
    target     text NOT NULL,
    -- The particulars: statuses before and after, a resend's counts.
    detail     jsonb NOT NULL DEFAULT '{}'
);

-- The console and reports read the newest entries first.
CREATE INDEX audit_log_at_idx ON audit_log (at DESC, id DESC);

-- Writes one audit_log row for a trigger. It runs with its owner's rights
-- (SECURITY DEFINER), so that a role that may change campaigns needs no grant
-- on audit_log for the trigger below to record it: the upgrade breaks no
-- operator's role. Only a trigger may call it (pg_trigger_depth), so that it
-- is no way round the table's own grants.
CREATE FUNCTION broadcaster_audit_write(who text, credential text, address text,
                                        action text, target text, detail jsonb)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF pg_trigger_depth() = 0 THEN
        RAISE EXCEPTION 'broadcaster_audit_write is called by audit triggers only'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    INSERT INTO public.audit_log (who, credential, address, action, target, detail)
    VALUES (who, credential, address, action, target, detail);
END
$$;

-- Records a change of campaigns.status. The one writer of these rows: the
-- Go API (pause, resume, cancel) sets transaction-local settings
-- broadcaster.actor, broadcaster.credential and broadcaster.address before
-- its UPDATE, and this trigger writes the row with them; a change made with
-- SQL has none set (a setting set in an earlier transaction of the session
-- reads '' afterwards), so it is recorded as current_user with credential
-- 'sql' and the client's address. It runs as the role that made the change,
-- so current_user is that role.
CREATE FUNCTION broadcaster_audit_campaign_status() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    actor text := nullif(current_setting('broadcaster.actor', true), '');
BEGIN
    PERFORM broadcaster_audit_write(
        coalesce(actor, current_user::text),
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

-- ==== migrations/0011_console.sql ====

-- The operator console (issue 12) searches a recipient's deliveries by wcId
-- ("why did this customer get nothing?") and counts each account's sends of
-- the day. Without these indexes both read every delivery ever made. On a
-- partitioned deliveries table an index on the parent applies to every
-- partition. (wc_id) alone, not (wc_id, id): its entries deduplicate, and a
-- recipient has one delivery per run it was in, sorted after the lookup.
-- Building them blocks writes to deliveries while it runs (a migration is
-- one transaction, so not CONCURRENTLY): seconds per million rows.
--
-- Expand only: new indexes the previous release does not use.
CREATE INDEX IF NOT EXISTS deliveries_wc_id_idx ON deliveries (wc_id);
CREATE INDEX IF NOT EXISTS deliveries_w_id_sent_idx ON deliveries (w_id, sent_at)
    WHERE sent_at IS NOT NULL;
