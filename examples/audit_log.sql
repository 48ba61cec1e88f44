-- Who changed what, newest first: every change of a campaign's status (made
-- with psql, the console or broadcaster itself) and every resend. who is the
-- operator's name as claimed (the database role for a change made with SQL);
-- db_role is the role that really made it.
SELECT a.at, a.who, a.credential, a.address, a.db_role, a.action, a.target, c.name AS campaign, a.detail
FROM audit_log a
LEFT JOIN campaigns c ON a.target = 'campaign ' || c.id
ORDER BY a.at DESC, a.id DESC
LIMIT 50
