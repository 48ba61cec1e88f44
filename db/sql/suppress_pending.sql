-- Recipients suppressed after their run was created are never sent to: their
-- pending deliveries in open runs become skipped.
UPDATE deliveries d
SET status = 'skipped',
    last_error = 'suppressed' || coalesce(': ' || nullif(s.reason, ''), ''),
    updated_at = now()
FROM suppressions s, campaign_runs r
WHERE r.status IN ('pending', 'running')
  AND d.run_id = r.id
  AND d.wc_id = s.wc_id
  AND d.status = 'pending'
