-- demo --console: a recurring copy of the demo campaign @campaign (same
-- template, account and audience) named @name, firing on @schedule from now,
-- so the console always soon has a broadcast in progress to show.
INSERT INTO campaigns (name, template_id, w_id, recipients, list_ids, schedule, start_at)
SELECT @name, template_id, w_id, recipients, list_ids, @schedule, now()
FROM campaigns
WHERE id = @campaign
RETURNING id
