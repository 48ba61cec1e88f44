-- Names the operator behind this transaction's writes, for the trigger that
-- records campaign status changes in audit_log: transaction-local settings
-- (is_local true), gone at commit, so a pooled connection carries none into
-- the next transaction.
SELECT set_config('broadcaster.actor', @who::text, true),
       set_config('broadcaster.credential', @credential::text, true),
       set_config('broadcaster.address', @address::text, true)
