-- Messages sent today (Beijing time) per sending account, the number
-- WeChat's limits care about. deliveries.w_id is the account the message
-- actually went out from.
SELECT d.w_id,
       count(*)                      AS sent,
       count(DISTINCT d.campaign_id) AS campaigns,
       min(d.sent_at)                AS first_sent,
       max(d.sent_at)                AS last_sent
FROM deliveries d
WHERE d.status = 'sent'
  AND d.sent_at >= date_trunc('day', now(), 'Asia/Shanghai')
GROUP BY d.w_id
ORDER BY sent DESC, d.w_id
