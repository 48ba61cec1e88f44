-- What is left to send for active campaigns, and how long until the earliest
-- pending delivery is due (milliseconds, 0 when due now).
SELECT count(*) FILTER (WHERE d.status = 'pending'),
       count(*) FILTER (WHERE d.status = 'sending'),
       coalesce(ceil(extract(epoch FROM greatest(
           min(d.next_attempt_at) FILTER (WHERE d.status = 'pending') - now(),
           interval '0')) * 1000), 0)::bigint
FROM deliveries d
JOIN campaigns c ON c.id = d.campaign_id
WHERE d.status IN ('pending', 'sending')
  AND c.status = 'active'
