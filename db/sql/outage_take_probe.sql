-- Makes @owner the one instance that probes the API, for @lease_ms, when an
-- outage is open, its probe time has come, and no other instance's probe is
-- in flight (or that one's lease ran out: its sender died). Taking it again
-- while holding it renews the lease. No row: not taken.
UPDATE api_outage o
SET probe_owner = @owner,
    probe_until = t.now + @lease_ms::bigint * interval '1 millisecond',
    updated_at  = t.now
FROM (SELECT coalesce(@now::timestamptz, now()) AS now) t
WHERE o.since IS NOT NULL
  AND (o.paused_until IS NULL OR o.paused_until <= t.now)
  AND (o.probe_owner IS NULL OR o.probe_owner = @owner OR o.probe_until <= t.now)
RETURNING o.probe_until
