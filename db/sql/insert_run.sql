-- The unique (campaign_id, scheduled_for) makes a firing create one run, however
-- many instances race for it: the losers get no row back. A resend's run
-- names the run it repeats (@resend_of) and the instant its {{date}} renders
-- from (@render_date_of); both are NULL for a firing.
INSERT INTO campaign_runs (campaign_id, scheduled_for, resend_of, render_date_of)
VALUES (@campaign_id, @scheduled_for, @resend_of, @render_date_of)
ON CONFLICT (campaign_id, scheduled_for) DO NOTHING
RETURNING id
