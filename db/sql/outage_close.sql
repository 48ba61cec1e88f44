-- Resumes sending on every instance: the API answered again. last_error
-- stays, as a record of the last outage's cause. No row: nothing was paused.
UPDATE api_outage
SET since        = NULL,
    opened_by    = NULL,
    paused_until = NULL,
    probe_owner  = NULL,
    probe_until  = NULL,
    updated_at   = coalesce(@now::timestamptz, now())
WHERE since IS NOT NULL
RETURNING id
