-- A receipt id that does not fit its bigint column (beyond 2^63-1, in float
-- notation, not a number) is kept exactly here, by the API's field name, e.g.
-- {"newMsgId": "18446744073709551615"}; NULL when every id fits (SPEC §3).
--
-- Expand only: a nullable column the first release ignores.
ALTER TABLE deliveries ADD COLUMN receipt_overflow jsonb;
