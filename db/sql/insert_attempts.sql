-- One row per attempt, from parallel arrays bound by name. A batch written again after a
-- failed commit inserts nothing twice. The attempt of a delivery an operator
-- deleted meanwhile (DELETE FROM campaigns …) is dropped: failing the whole
-- batch on it would hold up every other result.
INSERT INTO delivery_attempts
    (delivery_id, attempt, w_id, started_at, duration_ms, http_status, code, outcome, error, response)
SELECT r.*
FROM unnest(@delivery_id::bigint[], @attempt::int[], @w_id::text[], @started_at::timestamptz[],
            @duration_ms::int[], @http_status::int[], @code::text[], @outcome::text[],
            @error::text[], @response::text[])
    AS r (delivery_id, attempt, w_id, started_at, duration_ms, http_status, code, outcome, error, response)
WHERE EXISTS (SELECT 1 FROM deliveries d WHERE d.id = r.delivery_id)
ON CONFLICT (delivery_id, attempt) DO NOTHING
