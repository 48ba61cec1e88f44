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
