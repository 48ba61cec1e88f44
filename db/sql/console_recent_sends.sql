-- How many deliveries of each run @runs reached a final status in the
-- minute before @now: the console's live rate and ETA. Reads only those
-- runs' deliveries, through the (run_id, wc_id) key.
SELECT d.run_id, count(*) FILTER (WHERE d.updated_at >= @now::timestamptz - interval '1 minute'
                                    AND d.status IN ('sent', 'failed', 'unknown'))
FROM deliveries d
WHERE d.run_id = ANY (@runs::bigint[])
GROUP BY d.run_id
