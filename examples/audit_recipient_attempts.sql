-- Every attempt to reach one recipient, newest first, with the API's raw
-- answer and the message ids of the ones that went out.
SELECT c.name AS campaign,
       d.run_id,
       a.attempt,
       a.started_at,
       a.duration_ms,
       a.w_id,
       a.http_status,
       a.code,
       a.outcome,
       a.error,
       d.msg_id,
       d.new_msg_id,
       a.response
FROM delivery_attempts a
JOIN deliveries d ON d.id = a.delivery_id
JOIN campaigns c ON c.id = d.campaign_id
WHERE d.wc_id = 'wxid_a1'
ORDER BY a.started_at DESC, a.attempt DESC
