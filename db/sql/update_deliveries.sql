-- Writes each result onto its delivery, from parallel arrays bound by name. A result applies
-- only to the attempt it belongs to (d.attempts = r.attempt); it may overwrite
-- 'unknown' or 'pending' set by a reaper while this process could not reach the
-- database, because what the API answered is better than a guess. But a late
-- "retry later" cannot reopen a delivery whose run has ended meanwhile (it was
-- reaped and the run completed or cancelled): it fails instead. An id too big
-- for its bigint column arrives as JSON text in receipt_overflow (else NULL).
-- Rows are matched on (id, run_created_at), the partition key (NULL for the
-- legacy partition's '-infinity'), so each lookup stays in one partition.
-- A result for a run already closed changes that run's totals: Record
-- refreshes them after this (refresh_run_totals.sql).
UPDATE deliveries d
SET status = CASE WHEN r.status = 'pending' AND run.status NOT IN ('pending', 'running')
                  THEN 'failed' ELSE r.status END,
    last_code = r.code,
    last_error = CASE WHEN r.status = 'pending' AND run.status NOT IN ('pending', 'running')
                      THEN r.error || ' (not retried: its run had ended)' ELSE r.error END,
    msg_id = r.msg_id,
    new_msg_id = r.new_msg_id,
    create_time = r.create_time,
    receipt_overflow = r.receipt_overflow::jsonb,
    msg_type = r.msg_type,
    sent_at = r.sent_at,
    w_id = r.w_id,
    next_attempt_at = CASE WHEN r.status = 'pending' AND run.status IN ('pending', 'running')
                           THEN now() + r.retry_ms * interval '1 millisecond'
                           ELSE d.next_attempt_at END,
    claimed_by = NULL,
    lease_until = NULL,
    updated_at = now()
FROM unnest(@id::bigint[], @attempt::int[], @status::text[], @code::text[], @error::text[],
            @msg_id::bigint[], @new_msg_id::bigint[], @create_time::bigint[], @msg_type::int[],
            @sent_at::timestamptz[], @retry_ms::bigint[], @w_id::text[], @receipt_overflow::text[],
            @run_created_at::timestamptz[])
    AS r (id, attempt, status, code, error, msg_id, new_msg_id, create_time, msg_type,
          sent_at, retry_ms, w_id, receipt_overflow, run_created_at),
    campaign_runs run
WHERE d.id = r.id
  AND d.run_created_at = coalesce(r.run_created_at, '-infinity')
  AND run.id = d.run_id
  AND d.attempts = r.attempt
  AND d.status IN ('sending', 'unknown', 'pending')
