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
