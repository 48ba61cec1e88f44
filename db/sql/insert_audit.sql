-- Records a write made through the Go API that is not a campaign status
-- change (those the trigger on campaigns records): a resend. An actor
-- without a name is recorded as session_user, as the trigger does; db_role
-- is stamped by audit_log's own trigger (session_user).
INSERT INTO audit_log (who, credential, address, action, target, detail)
VALUES (coalesce(nullif(@who::text, ''), session_user), @credential, nullif(@address::text, ''),
        @action, @target, @detail)
