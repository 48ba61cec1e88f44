-- Wakes running daemons for a resend's new run, as the trigger on campaigns
-- does for a campaign's change (same channel and payload): a resend changes
-- no campaign row, and its run should not wait for the next poll. Sent at
-- commit only, so a dry run wakes no one.
SELECT pg_notify('broadcaster_campaigns',
                 json_build_object('id', @campaign_id::bigint, 'status', @status::text, 'op', 'resend')::text)
