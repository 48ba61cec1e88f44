-- Deliveries of the campaigns that send (sending_campaigns) left to send: pending plus sending, as
-- campaign_run_summary's `pending` counts them. Read at every metrics scrape,
-- so it is two counts that each walk a partial index (deliveries_pending_idx,
-- deliveries_sending_idx) rather than one that scans every delivery.
SELECT (SELECT count(*)
        FROM deliveries d
        JOIN sending_campaigns c ON c.id = d.campaign_id
        WHERE d.status = 'pending')
     + (SELECT count(*)
        FROM deliveries d
        JOIN sending_campaigns c ON c.id = d.campaign_id
        WHERE d.status = 'sending')
