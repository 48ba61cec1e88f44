-- One page of the console's run list, newest first: the ids of at most
-- @limit runs below the keyset @before (0: from the newest), of campaign
-- @campaign (0: any) with status @status ('': any). Their figures are read by
-- id afterwards (progress_run_summaries.sql), so that the page never
-- aggregates more deliveries than its runs have.
SELECT id
FROM campaign_runs
WHERE (@before::bigint = 0 OR id < @before)
  AND (@campaign::bigint = 0 OR campaign_id = @campaign)
  AND (@status::text = '' OR status = @status)
ORDER BY id DESC
LIMIT @limit
