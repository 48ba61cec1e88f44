package campaign_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/broadcaster/broadcaster/campaign"
	"github.com/broadcaster/broadcaster/db"
	"github.com/broadcaster/broadcaster/sender/sendertest"
)

// arrivals returns, per account, when the fake API received its requests.
func arrivals(reqs []sendertest.Request) map[string][]time.Time {
	out := map[string][]time.Time{}
	for _, r := range reqs {
		out[r.WID] = append(out[r.WID], r.Received)
	}
	for _, ts := range out {
		slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
	}
	return out
}

// runOn starts d and returns a function that stops it and checks it
// stopped cleanly.
func runOn(t *testing.T, d *campaign.Dispatcher) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	return func() {
		t.Helper()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
	}
}

// waitAPI waits until the fake API's counts satisfy cond.
func waitAPI(t *testing.T, api *sendertest.Server, cond func(sendertest.Stats) bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := api.Wait(ctx, cond); err != nil {
		t.Fatalf("%v (%+v)", err, api.Stats())
	}
}

// On a manual clock, pacing is exact: each account sends its burst, then
// one delivery per 1/rate of clock time, side by side with the others and
// never ahead of its tokens.
func TestPacingSpacesEachAccountsSends(t *testing.T) {
	h := newHarness(t, sendertest.Config{})
	h.cfg.Pacing = campaign.Pacing{PerSecond: 20, Burst: 2} // a token each 50ms
	const perAccount = 8
	accounts := []string{"acct_a", "acct_b", "acct_c"}
	for _, acct := range accounts {
		id := h.campaign(acct, applet, recipients(acct+"_", perAccount))
		h.exec(`UPDATE campaigns SET w_id = $2 WHERE id = $1`, id, acct)
	}
	h.createRuns()
	clock := h.manualTime() // after the rows it must not predate
	spy := newClaimSpy(h.store)
	d := campaign.NewDispatcher(spy, h.snd, h.cfg, zerologNop())
	defer runOn(t, d)()

	t0 := clock.Now()
	expect := func(at time.Time, want int) {
		t.Helper()
		got := spy.settle(t, at)
		for _, acct := range accounts {
			if got[acct] != want {
				t.Fatalf("at +%v: claimed %v, want %d for each account", at.Sub(t0), got, want)
			}
		}
	}
	expect(t0, 2) // the burst
	sent := 2
	for sent < perAccount {
		expect(advance(clock, d, 49*time.Millisecond), 0) // the next token is not there yet
		expect(advance(clock, d, time.Millisecond), 1)
		sent++
	}
	waitAPI(t, h.api, func(s sendertest.Stats) bool { return s.Sent == perAccount*len(accounts) })
	eventually(t, func() bool {
		return h.int64(`SELECT count(*) FROM deliveries WHERE status = 'sent'`) == perAccount*int64(len(accounts))
	})
}

func TestRestingAccountDoesNotHoldBackOthers(t *testing.T) {
	h := newHarness(t, sendertest.Config{})
	h.cfg.Concurrency = 2
	h.cfg.Pacing = campaign.Pacing{Burst: 1}
	slow := h.campaign("slow", applet, recipients("s", 5))
	h.exec(`UPDATE campaigns SET w_id = 'resting' WHERE id = $1`, slow)
	h.exec(`INSERT INTO sending_accounts (w_id, paused_until) VALUES ('resting', now() + interval '1 hour')`)
	h.campaign("fast", applet, recipients("f", 30))
	h.createRuns()

	ctx, cancel := context.WithCancel(h.ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- h.dispatcher(nil).Run(ctx) }()
	wait, stop := context.WithTimeout(h.ctx, 30*time.Second)
	defer stop()
	if err := h.api.Wait(wait, func(s sendertest.Stats) bool { return s.Sent == 30 }); err != nil {
		t.Fatalf("the other account's 30 sends did not all go: %v (%+v)", err, h.api.Stats())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := h.int64(`SELECT count(*) FROM deliveries WHERE campaign_id = $1 AND status = 'pending' AND attempts = 0`, slow); n != 5 {
		t.Errorf("resting account's deliveries: %d pending and unattempted, want 5", n)
	}
}

// On a manual clock the breaker's rest and probe need no sleeps: three
// failures rest the account for the whole cool-down, then one probe alone,
// and its success resumes the account.
func TestBreakerRestsAFailingAccount(t *testing.T) {
	h := newHarness(t, sendertest.Config{Fault: sendertest.Code("1001", "")})
	h.cfg.Concurrency = 4
	h.cfg.Retry = campaign.RetryPolicy{MaxAttempts: 10, Backoff: time.Millisecond, MaxBackoff: time.Millisecond}
	h.cfg.Pacing = campaign.Pacing{Burst: 1, BreakerFailures: 3, BreakerCoolDown: time.Hour}
	h.campaign("failing", applet, recipients("r", 6))
	h.createRuns()
	clock := h.manualTime() // after the rows it must not predate
	spy := newClaimSpy(h.store)
	d := campaign.NewDispatcher(spy, h.snd, h.cfg, zerologNop())
	defer runOn(t, d)()

	// Failures are recorded in batches, so the claims in flight when the
	// third failure is recorded may fail too: at most concurrency.
	t0 := clock.Now()
	rested := spy.settle(t, t0)["wid-1"]
	if rested < 3 || rested > 3+h.cfg.Concurrency {
		t.Fatalf("%d attempts before the breaker rested the account, want 3 to %d", rested, 3+h.cfg.Concurrency)
	}
	if got := spy.settle(t, advance(clock, d, 59*time.Minute))["wid-1"]; got != 0 {
		t.Fatalf("%d claims while the account rested", got)
	}
	if n := h.int64(`SELECT sum(attempts) FROM deliveries`); n != int64(rested) {
		t.Errorf("attempts spent = %d, want %d: resting deliveries spend none", n, rested)
	}

	h.api.Update(func(c *sendertest.Config) { c.Fault = sendertest.Fault{} })
	at := advance(clock, d, 2*time.Minute)
	waitAPI(t, h.api, func(s sendertest.Stats) bool { return s.Sent == 6 })
	for _, c := range spy.at(at) {
		if c["wid-1"] > 0 {
			if c["wid-1"] != 1 {
				t.Errorf("after the cool-down the first claim took %d, want one probe", c["wid-1"])
			}
			break
		}
	}
}

// A failed attempt waits out its backoff on the clock, and not a moment
// less.
func TestRetryWaitsOutItsBackoff(t *testing.T) {
	h := newHarness(t, sendertest.Config{FailFirst: 1})
	h.cfg.Retry = campaign.RetryPolicy{MaxAttempts: 3, Backoff: time.Minute, MaxBackoff: time.Minute}
	h.campaign("backoff", applet, recipients("r", 5))
	h.createRuns()
	clock := h.manualTime() // after the rows it must not predate
	spy := newClaimSpy(h.store)
	d := campaign.NewDispatcher(spy, h.snd, h.cfg, zerologNop())
	defer runOn(t, d)()

	if got := spy.settle(t, clock.Now())["wid-1"]; got != 5 {
		t.Fatalf("first attempts = %d, want 5", got)
	}
	eventually(t, func() bool { return h.int64(`SELECT count(*) FROM deliveries WHERE status = 'pending'`) == 5 })
	// The backoff is 1m with equal jitter: no retry before 30s.
	if got := spy.settle(t, advance(clock, d, 29*time.Second))["wid-1"]; got != 0 {
		t.Fatalf("%d retries within half the backoff", got)
	}
	if got := spy.settle(t, advance(clock, d, time.Minute))["wid-1"]; got != 5 {
		t.Fatalf("retries after the backoff = %d, want 5", got)
	}
	waitAPI(t, h.api, func(s sendertest.Stats) bool { return s.Sent == 5 })
	eventually(t, func() bool {
		return h.int64(`SELECT count(*) FROM deliveries WHERE status = 'sent' AND attempts = 2`) == 5
	})
}

// A delivery left sending by a dead process is reaped once its lease runs
// out on the clock, waits out the lease again (its holder may still record
// it), and is then sent.
func TestExpiredLeaseIsReapedThenRetried(t *testing.T) {
	h := newHarness(t, sendertest.Config{})
	h.cfg.Lease = 25 * time.Second
	h.cfg.Retry.Ambiguous = true
	h.campaign("lease", applet, []string{"orphan"})
	h.createRuns()
	clock := h.manualTime() // after the rows it must not predate
	t0 := clock.Now()
	dead := db.NewStore(h.pool, "dead:1")
	if ds, err := dead.Claim(h.ctx, campaign.ClaimParams{EnsureAccounts: true, Limit: 1, Lease: h.cfg.Lease, Now: t0}); err != nil || len(ds) != 1 {
		t.Fatal(ds, err)
	}
	spy := newClaimSpy(h.store)
	d := campaign.NewDispatcher(spy, h.snd, h.cfg, zerologNop())
	defer runOn(t, d)()

	state := func() string {
		return h.str(`SELECT status || ' ' || attempts || ' ' || coalesce(claimed_by, '-') FROM deliveries`)
	}
	spy.settle(t, t0)
	spy.settle(t, advance(clock, d, 24*time.Second))
	if s := state(); s != "sending 1 dead:1" {
		t.Fatalf("within the lease: %s, want still held by the dead process", s)
	}
	spy.settle(t, advance(clock, d, 2*time.Second))
	if s := state(); s != "pending 1 -" {
		t.Fatalf("after the lease: %s, want reaped to pending", s)
	}
	if got := spy.settle(t, advance(clock, d, 24*time.Second))["wid-1"]; got != 0 {
		t.Fatalf("claimed %d before the reaped delivery's delay ran out", got)
	}
	if got := spy.settle(t, advance(clock, d, 2*time.Second))["wid-1"]; got != 1 {
		t.Fatalf("claimed %d after the delay, want 1", got)
	}
	waitAPI(t, h.api, func(s sendertest.Stats) bool { return s.Sent == 1 })
}

// eventually waits for cond, polling the database, for up to 30s.
func eventually(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 30s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// slowTemplates makes every template lookup that starts within the first
// stall of the first one wait for the end of it, as a busy database does
// to a run's first deliveries.
type slowTemplates struct {
	campaign.DeliveryStore
	stall time.Duration
	once  sync.Once
	until time.Time
}

func (s *slowTemplates) wait() {
	s.once.Do(func() { s.until = time.Now().Add(s.stall) })
	time.Sleep(time.Until(s.until))
}

func (s *slowTemplates) OpenTemplates(ctx context.Context, known []int64) ([]campaign.RunTemplate, error) {
	s.wait()
	return s.DeliveryStore.OpenTemplates(ctx, known)
}

// The spacing the API sees honours the pacing from a run's first send on,
// however long the run's template takes to load: the token is spent when a
// delivery is claimed, so the claim must be followed by the request at once.
func TestPacingHoldsWhereTheAPISeesItFromARunsFirstSend(t *testing.T) {
	h := newHarness(t, sendertest.Config{})
	h.cfg.Concurrency = 16 // enough idle workers for every claim the pacing allows
	h.cfg.Pacing = campaign.Pacing{PerSecond: 10, Burst: 1}
	const perAccount = 20
	for _, acct := range []string{"acct_a", "acct_b"} {
		id := h.campaign(acct, applet, recipients(acct+"_", perAccount))
		h.exec(`UPDATE campaigns SET w_id = $2 WHERE id = $1`, id, acct)
	}
	h.createRuns()
	store := &slowTemplates{DeliveryStore: h.store, stall: 700 * time.Millisecond}
	ctx, cancel := context.WithTimeout(h.ctx, 60*time.Second)
	defer cancel()
	if err := campaign.NewDispatcher(store, h.snd, h.cfg, zerologNop()).Drain(ctx); err != nil {
		t.Fatal(err)
	}
	got := arrivals(h.api.Requests())
	for _, acct := range []string{"acct_a", "acct_b"} {
		if len(got[acct]) != perAccount {
			t.Errorf("%s: %d requests, want %d", acct, len(got[acct]), perAccount)
		}
		for _, c := range sendertest.CrowdedWindows(got[acct], 1, 10, 10*time.Millisecond) {
			t.Errorf("%s: %s", acct, c)
		}
	}
}
