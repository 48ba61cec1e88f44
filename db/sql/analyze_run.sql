-- Analyses the partition of run @run_id when its fan-out just added many
-- rows to it (@inserted), so that the first claims are planned with what it
-- now holds (migration 0012). Run in the fan-out's transaction. A role not
-- granted broadcaster_analyze_run skips it (see
-- broadcaster_analyze_run_if_allowed).
SELECT broadcaster_analyze_run_if_allowed(@run_id, @inserted)
