-- Active recurring campaigns whose start has come, with their template, the
-- scheduled_for of their latest run (of any status: a skipped firing counts)
-- and whether an open run still has deliveries pending or sending. The
-- scheduler works out each campaign's firings from these. Resend runs are
-- not firings: their scheduled_for is the time of a request, and one still
-- sending is no overlap, so both ignore them. "Recurring" is the
-- exact complement of due_one_shots.sql's test. Rows are read as
-- campaign.RecurringRow, with due_one_shots.sql's columns and for the same
-- reason: a value an operator got wrong (±infinity, a schedule of tabs, a
-- list that does not exist) must make only its own campaign invalid.
SELECT c.id, coalesce(c.name, ''), coalesce(c.w_id, ''), c.schedule, c.start_at, c.end_at, c.status,
       c.template_id, t.id, coalesce(t.name, ''), coalesce(t.img_url, ''), coalesce(t.content, ''),
       l.missing, l.has_null,
       (SELECT max(r.scheduled_for) FROM campaign_runs r WHERE r.campaign_id = c.id AND r.resend_of IS NULL),
       EXISTS (
           SELECT 1 FROM campaign_runs r
           WHERE r.campaign_id = c.id
             AND r.status IN ('pending', 'running')
             AND r.resend_of IS NULL
             AND (EXISTS (SELECT 1 FROM deliveries d
                          WHERE d.campaign_id = c.id AND d.run_id = r.id AND d.status = 'pending')
                  OR EXISTS (SELECT 1 FROM deliveries d
                             WHERE d.status = 'sending' AND d.run_id = r.id)))
FROM campaigns c
LEFT JOIN applet_templates t ON t.id = c.template_id
CROSS JOIN LATERAL (
    SELECT coalesce(array_agg(DISTINCT x ORDER BY x) FILTER (
               WHERE x IS NOT NULL AND NOT EXISTS (SELECT 1 FROM recipient_lists r WHERE r.id = x)), '{}') AS missing,
           coalesce(bool_or(x IS NULL), false) AS has_null
    FROM unnest(c.list_ids) AS x
) l
WHERE c.status = 'active'
  AND nullif(btrim(c.schedule), '') IS NOT NULL
  AND (c.start_at <= @now OR c.start_at = 'infinity')
ORDER BY c.start_at, c.id
