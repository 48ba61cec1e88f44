-- Every delivery of one run: who, what happened, and the API's ids.
SELECT id AS delivery_id, run_id, campaign_id, wc_id, w_id, status, attempts,
       last_code, last_error, msg_id, new_msg_id, create_time, msg_type, sent_at
FROM deliveries
WHERE run_id = @run_id
ORDER BY id
