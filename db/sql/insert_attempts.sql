-- One row per attempt, from parallel arrays bound by name. A batch written again after a
-- failed commit inserts nothing twice: ON CONFLICT without a target uses the
-- partition's unique (delivery_id, attempt) (a partitioned table has no
-- unique index of its own without the partition key). Each attempt carries
-- its delivery's partition key (@run_created_at; NULL for the legacy
-- partition's '-infinity'). The attempt of a delivery an operator deleted
-- meanwhile (DELETE FROM campaigns …) is dropped: failing the whole batch on
-- it would hold up every other result.
INSERT INTO delivery_attempts
    (delivery_id, attempt, w_id, started_at, duration_ms, http_status, code, outcome, error, response,
     run_created_at)
SELECT r.delivery_id, r.attempt, r.w_id, r.started_at, r.duration_ms, r.http_status, r.code, r.outcome,
       r.error, r.response, coalesce(r.run_created_at, '-infinity')
FROM unnest(@delivery_id::bigint[], @attempt::int[], @w_id::text[], @started_at::timestamptz[],
            @duration_ms::int[], @http_status::int[], @code::text[], @outcome::text[],
            @error::text[], @response::text[], @run_created_at::timestamptz[])
    AS r (delivery_id, attempt, w_id, started_at, duration_ms, http_status, code, outcome, error, response,
          run_created_at)
WHERE EXISTS (SELECT 1 FROM deliveries d
              WHERE d.id = r.delivery_id AND d.run_created_at = coalesce(r.run_created_at, '-infinity'))
ON CONFLICT DO NOTHING
