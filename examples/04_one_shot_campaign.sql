-- 4. A one-shot campaign: sent once, at start_at.
--
-- Leave start_at out (it defaults to now()) to send at once: a running
-- `broadcaster run` picks the new row up within a second, and
-- `broadcaster run --once` sends it and exits.
INSERT INTO campaigns (name, template_id, w_id, recipients, start_at)
SELECT 'flash sale',
       t.id,
       '0000016f-78bd-21c8-0001-29c4d004ae46',
       ARRAY['wxid_a1', 'wxid_e5', '1234567890@chatroom'],
       timestamptz '2030-06-01 10:00 Asia/Shanghai'
FROM applet_templates t
WHERE t.name = 'yunpu shop';
