-- One row per attempt, from parallel arrays. A batch written again after a
-- failed commit inserts nothing twice.
INSERT INTO delivery_attempts
    (delivery_id, attempt, w_id, started_at, duration_ms, http_status, code, outcome, error, response)
SELECT *
FROM unnest($1::bigint[], $2::int[], $3::text[], $4::timestamptz[], $5::int[],
            $6::int[], $7::text[], $8::text[], $9::text[], $10::text[])
ON CONFLICT (delivery_id, attempt) DO NOTHING
