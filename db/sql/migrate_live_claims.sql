-- Deliveries that a running instance holds (claimed, lease not run out):
-- `migrate` does not apply a migration that older binaries refuse while
-- any instance still sends, since that instance would fail mid-batch.
-- @now NULL means the database's clock.
SELECT count(*) FROM deliveries
WHERE status = 'sending' AND lease_until > coalesce(@now::timestamptz, now())
