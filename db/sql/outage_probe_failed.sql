-- Ends @owner's probe without an API answer: sending stays paused and the
-- next probe waits @wait_ms from now, on the database's clock (or @now in
-- tests), which every instance shares. A probe another instance has taken
-- over in the meantime is left alone. An empty @error keeps the last error.
UPDATE api_outage
SET paused_until = coalesce(@now::timestamptz, now()) + @wait_ms::bigint * interval '1 millisecond',
    last_error   = coalesce(nullif(@error, ''), last_error),
    probe_owner  = NULL,
    probe_until  = NULL,
    updated_at   = coalesce(@now::timestamptz, now())
WHERE since IS NOT NULL AND probe_owner = @owner
