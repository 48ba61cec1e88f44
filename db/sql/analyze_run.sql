-- Analyses the partition of run @run_id when its fan-out just added many
-- rows to it (@inserted), so that the first claims are planned with what it
-- now holds (migration 0012). Run in the fan-out's transaction. A role not
-- granted the function (deploy/least-privilege.sql not run again since the
-- upgrade) skips it: the run goes out all the same, its first claims slower.
SELECT CASE WHEN has_function_privilege('broadcaster_analyze_run(bigint, bigint)', 'EXECUTE')
            THEN broadcaster_analyze_run(@run_id, @inserted)
            ELSE false END
