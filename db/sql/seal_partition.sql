-- Seals a pair before it is archived: once this commits, the owner's
-- function makes inserts and updates of its rows no-ops (a late result for a
-- month on its way out is lost, as it would be a moment later with the
-- partition), so the archive can be copied without a lock that would hold
-- every claim. Refuses a pair with an open run, or the DEFAULT one, with
-- SQLSTATE 55006. Idempotent.
SELECT broadcaster_seal_partition(@partition)
