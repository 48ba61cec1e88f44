-- Every delivery one wcId had, newest first, at most @limit: the console's
-- recipient search, the question support is asked most. Uses
-- deliveries_wc_id_idx (migration 0011), never a scan of all deliveries.
SELECT d.id, d.run_id, d.campaign_id, coalesce(c.name, ''), d.wc_id, d.status, d.attempts,
       coalesce(d.last_code, ''), coalesce(d.last_error, ''),
       coalesce(d.msg_id, 0), coalesce(d.new_msg_id, 0), d.sent_at, d.updated_at
FROM deliveries d
LEFT JOIN campaigns c ON c.id = d.campaign_id
WHERE d.wc_id = @wc_id
ORDER BY d.id DESC
LIMIT @limit
