-- Pauses sending on every instance: @owner saw the API as a whole fail
-- (connection refused, DNS, TLS, timeouts, 5xx) too many times in a row. The
-- first probe may go @probe_in_ms from now, on the database's clock (or @now
-- in tests): instances on hosts with skewed clocks then agree on it. An
-- outage already open keeps its start, its next probe time and another
-- instance's probe in flight; only the last error is replaced. An upsert, so
-- the pause holds even if an operator deleted the row. opened says whether
-- this statement began the outage.
INSERT INTO api_outage AS o (id, since, opened_by, paused_until, last_error, updated_at)
SELECT true, t.now, @owner, t.now + @probe_in_ms::bigint * interval '1 millisecond', @error, t.now
FROM (SELECT coalesce(@now::timestamptz, now()) AS now) t
ON CONFLICT (id) DO UPDATE
SET since        = coalesce(o.since, excluded.since),
    opened_by    = CASE WHEN o.since IS NULL THEN excluded.opened_by ELSE o.opened_by END,
    paused_until = CASE WHEN o.since IS NULL THEN excluded.paused_until ELSE o.paused_until END,
    last_error   = excluded.last_error,
    -- A probe of this instance's is over: this failure is newer news.
    probe_owner  = CASE WHEN o.since IS NULL OR o.probe_owner = @owner THEN NULL ELSE o.probe_owner END,
    probe_until  = CASE WHEN o.since IS NULL OR o.probe_owner = @owner THEN NULL ELSE o.probe_until END,
    updated_at   = excluded.updated_at
RETURNING o.opened_by = @owner AND o.since = coalesce(@now::timestamptz, now()) AS opened
