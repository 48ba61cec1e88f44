-- Stores on campaign_runs the totals of the closed (completed or cancelled)
-- runs among @runs, counted from their deliveries as campaign_run_summary
-- counts them, so that a run's summary outlives the partition that holds its
-- deliveries (migration 0008). Runs still open are left alone (NULL): the
-- view counts those. It runs in the transaction that closed the runs (after
-- complete_runs.sql, cancel_campaigns.sql) or that may have changed a
-- delivery of a closed run (every batch of results, with the runs it names:
-- a late result, a journal replay; a reaped or released claim of a cancelled
-- run), after that change, so the count includes it. Not a per-row trigger:
-- that would cost every delivery's write, not only these rare ones.
-- A late result committed at the very moment another transaction closes
-- its run can be missing from that run's stored totals (each counts with a
-- snapshot without the other's change) until the run's next change.
UPDATE campaign_runs r
SET total = t.total, sent = t.sent, failed = t.failed, unknown = t.unknown,
    pending = t.pending, skipped = t.skipped, attempts = t.attempts
FROM (
    SELECT r.id, n.*
    FROM campaign_runs r
    CROSS JOIN LATERAL (
        SELECT count(d.id)                                             AS total,
               count(d.id) FILTER (WHERE d.status = 'sent')            AS sent,
               count(d.id) FILTER (WHERE d.status = 'failed')          AS failed,
               count(d.id) FILTER (WHERE d.status = 'unknown')         AS unknown,
               count(d.id) FILTER (WHERE d.status IN ('pending', 'sending')) AS pending,
               count(d.id) FILTER (WHERE d.status = 'skipped')         AS skipped,
               coalesce(sum(d.attempts), 0)::bigint                    AS attempts
        FROM deliveries d
        WHERE d.run_id = r.id
    ) n
    WHERE r.id = ANY (@runs::bigint[]) AND r.status IN ('completed', 'cancelled')
) t
WHERE r.id = t.id
