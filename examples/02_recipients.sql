-- 2. Recipients: a list with members, and a suppression.
--
-- A recipient is a wcId: a person (wxid_…) or a group chat (…@chatroom).
-- Campaigns name lists in list_ids and/or people inline in recipients; a
-- run sends once to each distinct wcId of both, minus suppressions.

INSERT INTO recipient_lists (name) VALUES ('vip');

-- Add members by list name. ON CONFLICT makes re-running an import harmless.
-- From a file, in psql: \copy staging (wc_id) FROM 'vip.csv' CSV, then the
-- same INSERT … SELECT from staging.
INSERT INTO recipient_list_members (list_id, wc_id)
SELECT l.id, m.wc_id
FROM recipient_lists l,
     unnest(ARRAY['wxid_a1', 'wxid_b2', 'wxid_c3', '1234567890@chatroom']) AS m (wc_id)
WHERE l.name = 'vip'
ON CONFLICT DO NOTHING;

-- Remove a member.
DELETE FROM recipient_list_members
WHERE list_id = (SELECT id FROM recipient_lists WHERE name = 'vip')
  AND wc_id = 'wxid_c3';

-- Never send to this wcId again, whatever campaign or list names it. Runs
-- created from now on record it as a skipped delivery ("suppressed: …").
INSERT INTO suppressions (wc_id, reason) VALUES ('wxid_b2', 'asked to stop')
ON CONFLICT (wc_id) DO UPDATE SET reason = excluded.reason;

-- To send to them again: DELETE FROM suppressions WHERE wc_id = 'wxid_b2';
