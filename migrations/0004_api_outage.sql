-- The global pause of sending (SPEC §6). One row, shared by every instance.
-- Failures of the API as a whole (connection refused, DNS, TLS, timeouts,
-- 5xx) say nothing about one account: instead of resting every account's
-- breaker they pause all sending here. since is NULL while the API answers.
-- While it is set, no instance claims deliveries except one probe: the
-- instance named in probe_owner (until probe_until, in case it died) sends
-- one real delivery once paused_until has passed; an API answer clears since,
-- and sending resumes everywhere. Operators can read why (last_error) and
-- since when; to resume by hand, set since to NULL.
--
-- Expand only: a new table the first release ignores.
CREATE TABLE api_outage (
    id           boolean PRIMARY KEY DEFAULT true CHECK (id),
    since        timestamptz NULL,
    opened_by    text NULL,        -- the instance that found the outage
    paused_until timestamptz NULL, -- no probe before this
    last_error   text NULL,        -- of the failure that opened or prolonged it
    probe_owner  text NULL,
    probe_until  timestamptz NULL,
    updated_at   timestamptz NOT NULL DEFAULT now()
);
INSERT INTO api_outage (id) VALUES (true);
