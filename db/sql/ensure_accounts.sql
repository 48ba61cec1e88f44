-- Every account an active campaign sends from gets a pacing row, starting
-- with a full burst ($1), so the claim below can lock and spend it.
INSERT INTO sending_accounts (w_id, tokens)
SELECT DISTINCT w_id, $1::float8 FROM campaigns WHERE status = 'active'
ON CONFLICT (w_id) DO NOTHING
