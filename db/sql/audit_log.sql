-- The newest audit_log entries first, at most @limit: one step down
-- audit_log_at_idx.
SELECT id, at, who, credential, coalesce(address, ''), action, target, detail::text, db_role
FROM audit_log
ORDER BY at DESC, id DESC
LIMIT @limit
