-- The sending accounts whose circuit breaker rests them at @now (as claim.sql
-- decides it: @failures or more failed API answers in a row, the last less
-- than @cool_down_ms ago), across every instance: their number, for the
-- metric and the log, and the @sample most recently failed w_ids, for the
-- log only (metrics never name an account). Production passes no @now:
-- last_failure_at is written with the database's clock, so it is judged with
-- it, whatever the reading host's clock says.
SELECT count(*)::int,
       coalesce((array_agg(a.w_id ORDER BY a.last_failure_at DESC, a.w_id))[1:@sample::int], '{}')
FROM sending_accounts a
WHERE @failures::int > 0
  AND a.consecutive_failures >= @failures::int
  AND a.last_failure_at + @cool_down_ms::bigint * interval '1 millisecond' > coalesce(@now::timestamptz, now())
