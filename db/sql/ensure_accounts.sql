-- Every account a campaign that sends (sending_campaigns) sends from gets a pacing row, starting
-- with a full burst (@burst) at @now (NULL: the database's clock), so the
-- claim below can lock and spend it.
INSERT INTO sending_accounts (w_id, tokens, refilled_at)
SELECT DISTINCT w_id, @burst::float8, coalesce(@now::timestamptz, now())
FROM sending_campaigns
ON CONFLICT (w_id) DO NOTHING
