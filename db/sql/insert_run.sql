-- The unique (campaign_id, scheduled_for) makes a firing create one run, however
-- many instances race for it: the losers get no row back.
INSERT INTO campaign_runs (campaign_id, scheduled_for)
VALUES (@campaign_id, @scheduled_for)
ON CONFLICT (campaign_id, scheduled_for) DO NOTHING
RETURNING id
