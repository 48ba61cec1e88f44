-- For the console's run figures: campaign_run_summary's plan is costed per
-- run at the size of a whole run, which crosses jit_above_cost with a page of
-- runs, and compiling it takes longer (about 600 ms) than counting. SET LOCAL:
-- the transaction of one page's figures only.
SET LOCAL jit = off
