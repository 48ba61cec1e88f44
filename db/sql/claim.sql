-- Claims up to @limit due deliveries for this process (@owner), leased for
-- @lease_ms, taking only deliveries of campaigns that send (the view
-- sending_campaigns: active, or completed with an open resend run) whose
-- sending account may send now (SPEC §6):
--   @rate per second (0: unlimited)        @burst   @jitter_ms
--   @breaker_failures (0: off)             @cool_down_ms
--   @exclude: accounts to leave alone for now
-- @now is the time to pace by; NULL (production) means the database's clock,
-- which every instance shares; tests pass a clock of their own.
-- Account rows are locked with SKIP LOCKED, so instances sharing the database
-- pace each account together; delivery rows likewise, so no two instances
-- ever claim the same delivery. The attempt counter moves at claim time, so a
-- late result can be matched to its attempt. Each delivery comes with the
-- instant its {{date}} renders from: a resend renders as its first run did.
-- Claims return the partition key (run_created_at), so that results find
-- their row in one partition.
WITH candidates AS (
    -- The accounts that may send now and have something due, least
    -- recently served first, at most @limit; not locked yet.
    SELECT r.w_id
    FROM (
        SELECT a.w_id
        FROM sending_accounts a
        -- The readiness rule lives in broadcaster_account_ready_at, which
        -- outstanding.sql applies too. The first test is implied by it and
        -- much cheaper: most paced accounts wait out their jitter pause or
        -- next token (not_before), and are passed over without working out
        -- the rest: 2.5 ms a claim with 1,000 accounts before, 0.7 ms now.
        WHERE a.not_before <= coalesce(@now::timestamptz, now())
          AND broadcaster_account_ready_at(a.not_before, a.paused_until, a.probe_until, a.tokens, a.refilled_at,
                                           a.consecutive_failures, a.last_failure_at,
                                           @rate::float8, @breaker_failures::int, @cool_down_ms::bigint)
              <= coalesce(@now::timestamptz, now())
          AND NOT (a.w_id = ANY (@exclude::text[]))
        ORDER BY a.refilled_at
        -- A fence: the probe below runs on the accounts in this order, one
        -- by one, until @limit have something due, rather than on every
        -- ready account before the sort (709 probes, 19 ms a claim, with
        -- 1,000 paced accounts).
        OFFSET 0
    ) r
    -- Only accounts with something due, and no more than could be used:
    -- locking every idle account would make other instances skip them all.
    -- (LIMIT 1 keeps each probe one step down deliveries_pending_idx:
    -- a plain EXISTS is planned as a join over every pending delivery.
    -- The outer one keeps each account's probe to its own campaigns and
    -- stops at the first with something due: an EXISTS over the view is
    -- planned as a hash over every sending campaign.)
    WHERE (SELECT 1
           FROM sending_campaigns c
           WHERE c.w_id = r.w_id
             AND (SELECT 1 FROM deliveries d
                  WHERE d.campaign_id = c.id AND d.status = 'pending'
                    AND d.next_attempt_at <= coalesce(@now::timestamptz, now())
                  ORDER BY d.next_attempt_at
                  LIMIT 1) IS NOT NULL
           LIMIT 1) IS NOT NULL
    LIMIT @limit
), acct AS (
    -- The candidates, locked; those another instance holds are skipped
    -- (it is serving them now), and readiness is checked again on the
    -- locked row, which may have been spent since it was read above.
    SELECT a.w_id,
           CASE WHEN @rate::float8 > 0
                THEN least(@burst::float8,
                           a.tokens + @rate::float8 * extract(epoch FROM coalesce(@now::timestamptz, now()) - a.refilled_at))
                ELSE @limit::float8 END AS tokens,
           (@breaker_failures::int > 0 AND a.consecutive_failures >= @breaker_failures::int) AS probing
    FROM sending_accounts a
    WHERE a.w_id IN (SELECT w_id FROM candidates)
      AND broadcaster_account_ready_at(a.not_before, a.paused_until, a.probe_until, a.tokens, a.refilled_at,
                                       a.consecutive_failures, a.last_failure_at,
                                       @rate::float8, @breaker_failures::int, @cool_down_ms::bigint)
          <= coalesce(@now::timestamptz, now())
    FOR UPDATE OF a SKIP LOCKED
), allowance AS (
    SELECT w_id, tokens, probing,
           CASE WHEN probing THEN 1 ELSE floor(tokens)::int END AS n
    FROM acct
    WHERE tokens >= 1
), due AS (
    -- Per account, the n most overdue deliveries of its active campaigns:
    -- each campaign walks deliveries_pending_idx in due order for at most n
    -- rows, so a claim costs the same whatever the backlog.
    SELECT x.id, x.run_created_at, al.w_id
    FROM allowance al
    CROSS JOIN LATERAL (
        SELECT y.id, y.run_created_at
        FROM sending_campaigns c
        CROSS JOIN LATERAL (
            SELECT d.id, d.run_created_at, d.next_attempt_at
            FROM deliveries d
            WHERE d.campaign_id = c.id
              AND d.status = 'pending'
              AND d.next_attempt_at <= coalesce(@now::timestamptz, now())
            ORDER BY d.next_attempt_at, d.id
            LIMIT al.n
            FOR UPDATE OF d SKIP LOCKED
        ) y
        WHERE c.w_id = al.w_id
        ORDER BY y.next_attempt_at, y.id
        LIMIT al.n
    ) x
    LIMIT @limit
), claimed AS (
    UPDATE deliveries d
    SET status = 'sending',
        attempts = d.attempts + 1,
        claimed_by = @owner,
        lease_until = coalesce(@now::timestamptz, now()) + @lease_ms::bigint * interval '1 millisecond',
        updated_at = now()
    -- By arrays rather than a join with due: the join is planned as a
    -- sequential scan of the whole month whenever the planner believes it
    -- small (up to a few hundred thousand rows), while this is always a
    -- probe of each partition's primary key, and only in the partitions
    -- the keys name (pruned when the claim runs).
    WHERE d.id = ANY ((SELECT array_agg(due.id) FROM due)::bigint[])
      AND d.run_created_at = ANY ((SELECT array_agg(DISTINCT due.run_created_at) FROM due)::timestamptz[])
      -- Exactly the pairs locked in due, should an id ever repeat across
      -- partitions (the sequence never does it; a hand-made row might).
      AND EXISTS (SELECT 1 FROM due WHERE due.id = d.id AND due.run_created_at = d.run_created_at)
    RETURNING d.id, d.run_id, d.campaign_id, d.wc_id, d.attempts, d.run_created_at
), spent AS (
    UPDATE sending_accounts a
    SET tokens = CASE WHEN @rate::float8 > 0 THEN al.tokens - k.n ELSE a.tokens END,
        refilled_at = coalesce(@now::timestamptz, now()),
        -- The random pause comes after the next token is due, so that it
        -- shows in the rhythm instead of ending inside the token wait.
        -- Left alone when there is nothing to wait for: now() is the start of
        -- this transaction, which may be earlier than a concurrent claim's, and
        -- setting it would make that claim skip an account that may send.
        not_before = CASE WHEN (@rate::float8 > 0 AND al.tokens - k.n < 1) OR @jitter_ms::bigint > 0
                          THEN coalesce(@now::timestamptz, now())
                               + CASE WHEN @rate::float8 > 0 AND al.tokens - k.n < 1
                                      THEN (1 - (al.tokens - k.n)) / @rate::float8 * interval '1 second'
                                      ELSE interval '0' END
                               + random() * @jitter_ms::bigint * interval '1 millisecond'
                          ELSE a.not_before END,
        probe_until = CASE WHEN al.probing
                           THEN coalesce(@now::timestamptz, now()) + @lease_ms::bigint * interval '1 millisecond' END,
        updated_at = now()
    FROM (SELECT w_id, count(*) AS n FROM due GROUP BY w_id) k
    JOIN allowance al ON al.w_id = k.w_id
    WHERE a.w_id = k.w_id
), started AS (
    UPDATE campaign_runs r
    SET status = 'running', started_at = coalesce(r.started_at, coalesce(@now::timestamptz, now()))
    WHERE r.id IN (SELECT run_id FROM claimed) AND r.status = 'pending'
)
-- The partition key comes back as NULL for the legacy partition's
-- '-infinity', which time.Time cannot hold: the store's zero time.
SELECT cl.id, cl.run_id, cl.campaign_id, cl.wc_id, c.w_id, cl.attempts,
       coalesce(r.render_date_of, r.scheduled_for), nullif(cl.run_created_at, '-infinity')
FROM claimed cl
JOIN campaigns c ON c.id = cl.campaign_id
JOIN campaign_runs r ON r.id = cl.run_id
ORDER BY cl.id
