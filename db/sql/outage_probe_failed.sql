-- Ends @owner's probe without an API answer: sending stays paused and the
-- next probe waits until @next. A probe another instance has taken over in
-- the meantime is left alone. An empty @error keeps the last error.
UPDATE api_outage
SET paused_until = @next::timestamptz,
    last_error   = coalesce(nullif(@error, ''), last_error),
    probe_owner  = NULL,
    probe_until  = NULL,
    updated_at   = coalesce(@now::timestamptz, now())
WHERE since IS NOT NULL AND probe_owner = @owner
