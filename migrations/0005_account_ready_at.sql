-- When a sending account may next send (SPEC §6): the one home of the
-- readiness rule that claim.sql (who may send now) and outstanding.sql (when
-- the next send may go) both apply, so the two can never disagree. The
-- latest of:
--   its jitter pause (not_before), an operator's or the breaker's rest
--   (paused_until), a probe in flight (probe_until), the refill of its next
--   token at rate per second (0: unlimited), and the end of the breaker's
--   cool-down after breaker_failures failed attempts in a row (0: off).
-- NULL parts are ignored (greatest() skips NULLs); a row that holds no wait
-- is ready at -infinity.
--
-- Expand only: a new function the first release does not call.
CREATE FUNCTION broadcaster_account_ready_at(
    not_before timestamptz, paused_until timestamptz, probe_until timestamptz,
    tokens float8, refilled_at timestamptz,
    consecutive_failures int, last_failure_at timestamptz,
    rate float8, breaker_failures int, cool_down_ms bigint)
RETURNS timestamptz LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT greatest('-infinity'::timestamptz,
                    not_before,
                    paused_until,
                    probe_until,
                    CASE WHEN rate > 0 AND tokens < 1
                         THEN refilled_at + (1 - tokens) / rate * interval '1 second' END,
                    CASE WHEN breaker_failures > 0 AND consecutive_failures >= breaker_failures
                         THEN last_failure_at + cool_down_ms * interval '1 millisecond' END)
$$;
