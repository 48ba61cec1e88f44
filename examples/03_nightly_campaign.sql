-- 3. A recurring campaign: every night at 02:00 Beijing time, for 30 days.
--
-- schedule is a cron spec (5 fields, or @daily, @every 1h, …); the
-- CRON_TZ=Area/City prefix fixes its time zone, else scheduler.timezone
-- applies. It fires between start_at and end_at (NULL: no end). w_id is the
-- sending account: the wId the provider's login call returned.
INSERT INTO campaigns (name, template_id, w_id, recipients, list_ids, schedule, start_at, end_at)
SELECT 'vip nightly',
       t.id,
       '0000016f-78bd-21c8-0001-29c4d004ae46',
       ARRAY['wxid_d4'],                                             -- inline, besides the lists
       ARRAY(SELECT id FROM recipient_lists WHERE name IN ('vip')),  -- lists by name
       'CRON_TZ=Asia/Shanghai 0 2 * * *',
       now(),
       now() + interval '30 days'
FROM applet_templates t
WHERE t.name = 'yunpu shop (tracked)';
