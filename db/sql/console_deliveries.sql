-- One page of a run's deliveries for the console, in id order after the
-- keyset @after, filtered by status, last API code and wcId ('' for any).
-- Bounded by the run's size: it reads that run's rows only.
SELECT d.id, d.run_id, d.campaign_id, coalesce(c.name, ''), d.wc_id, d.status, d.attempts,
       coalesce(d.last_code, ''), coalesce(d.last_error, ''),
       coalesce(d.msg_id, 0), coalesce(d.new_msg_id, 0), d.sent_at, d.updated_at
FROM deliveries d
LEFT JOIN campaigns c ON c.id = d.campaign_id
WHERE d.run_id = @run
  AND d.id > @after
  AND (@status::text = '' OR d.status = @status)
  AND (@code::text = '' OR d.last_code = @code)
  AND (@wc_id::text = '' OR d.wc_id = @wc_id)
ORDER BY d.id
LIMIT @limit
