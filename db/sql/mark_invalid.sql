-- Marks an active campaign invalid with the reason (campaign.InvalidError's
-- text: the column, what is wrong, the fix). Only an active one: a campaign
-- an operator paused or cancelled meanwhile keeps the status they chose.
UPDATE campaigns SET status = 'invalid', error = @error
WHERE id = @id AND status = 'active'
