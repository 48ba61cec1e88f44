-- The operator console (issue 12) searches a recipient's deliveries by wcId
-- ("why did this customer get nothing?") and counts each account's sends of
-- the day. Without these indexes both read every delivery ever made. On a
-- partitioned deliveries table an index on the parent applies to every
-- partition. (wc_id) alone, not (wc_id, id): its entries deduplicate, and a
-- recipient has one delivery per run it was in, sorted after the lookup.
-- Building them blocks writes to deliveries while it runs (a migration is
-- one transaction, so not CONCURRENTLY): seconds per million rows. Where
-- the legacy partition is large, operators build its two indexes first with
-- CREATE INDEX CONCURRENTLY (README, "Upgrading"), and CREATE INDEX on the
-- parent adopts them instead of building them again.
--
-- Expand only: new indexes the previous release does not use.
CREATE INDEX IF NOT EXISTS deliveries_wc_id_idx ON deliveries (wc_id);
CREATE INDEX IF NOT EXISTS deliveries_w_id_sent_idx ON deliveries (w_id, sent_at)
    WHERE sent_at IS NOT NULL;
