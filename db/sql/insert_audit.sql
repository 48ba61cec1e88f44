-- Records a write made through the Go API that is not a campaign status
-- change (those the trigger on campaigns records): a resend. An actor
-- without a name is recorded as current_user, as the trigger does.
INSERT INTO audit_log (who, credential, address, action, target, detail)
VALUES (coalesce(nullif(@who::text, ''), current_user), @credential, nullif(@address::text, ''),
        @action, @target, @detail)
