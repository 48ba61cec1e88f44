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
