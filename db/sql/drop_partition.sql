-- Drops a pair: the owner's function stores the runs' totals on
-- campaign_runs (so reports keep them), detaches and drops both partitions.
-- It refuses a pair with an open run, or the DEFAULT one, with SQLSTATE 55006.
SELECT broadcaster_drop_partition(@partition)
