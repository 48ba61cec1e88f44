-- An operator's pause, resume or cancel. The trigger on campaigns notifies
-- running daemons and records the change in audit_log.
UPDATE campaigns SET status = @status WHERE id = @id
