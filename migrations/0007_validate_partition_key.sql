-- Validates 0006's checks: every existing row has run_created_at
-- '-infinity', which lets 0008 attach the tables as the legacy partition
-- without scanning them. A migration of its own, so that this scan of the
-- whole tables runs under SHARE UPDATE EXCLUSIVE (reads and writes go on)
-- and not under the ACCESS EXCLUSIVE lock that 0006's ALTER TABLEs hold to
-- the end of their transaction.
ALTER TABLE deliveries VALIDATE CONSTRAINT deliveries_legacy_range;
ALTER TABLE delivery_attempts VALIDATE CONSTRAINT delivery_attempts_legacy_range;
