package campaign_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/broadcaster/broadcaster/campaign"
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

func TestPacingSpacesEachAccountsSends(t *testing.T) {
	h := newHarness(t, sendertest.Config{})
	const perAccount = 8
	rate := 20.0 // one send per 50ms per account
	h.cfg.Pacing = campaign.Pacing{PerSecond: rate, Burst: 1}
	for _, acct := range []string{"acct_a", "acct_b", "acct_c"} {
		id := h.campaign(acct, applet, recipients(acct+"_", perAccount))
		h.exec(`UPDATE campaigns SET w_id = $2 WHERE id = $1`, id, acct)
	}
	h.createRuns()
	h.drain(nil)

	got := arrivals(h.api.Requests())
	if len(got) != 3 {
		t.Fatalf("accounts seen: %d", len(got))
	}
	for acct, ts := range got {
		if len(ts) != perAccount {
			t.Fatalf("%s: %d requests, want %d", acct, len(ts), perAccount)
		}
		// The database spaces claims by at least 1/rate; arrivals can only
		// bunch by the difference of two request latencies on loopback, so
		// the span of n sends is at least (n-1)/rate less one latency.
		span := ts[len(ts)-1].Sub(ts[0])
		if minSpan := time.Duration(float64(perAccount-1)/rate*float64(time.Second)) - 40*time.Millisecond; span < minSpan {
			t.Errorf("%s: %d sends within %v, want at least %v at %v/s", acct, perAccount, span, minSpan, rate)
		}
	}
	// Accounts are paced independently: they send side by side, so all
	// three finish in about the time one needs, not three times as long.
	first, last := time.Time{}, time.Time{}
	for _, ts := range got {
		if first.IsZero() || ts[0].Before(first) {
			first = ts[0]
		}
		if ts[len(ts)-1].After(last) {
			last = ts[len(ts)-1]
		}
	}
	if whole := last.Sub(first); whole > 3*time.Duration(float64(perAccount-1)/rate*float64(time.Second)) {
		t.Errorf("three accounts took %v: they held each other back", whole)
	}
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

func TestBreakerRestsAFailingAccount(t *testing.T) {
	h := newHarness(t, sendertest.Config{Fault: sendertest.Code("1001", "")})
	h.cfg.Concurrency = 1
	h.cfg.Retry = campaign.RetryPolicy{MaxAttempts: 10, Backoff: time.Millisecond, MaxBackoff: time.Millisecond}
	h.cfg.Pacing = campaign.Pacing{Burst: 1, BreakerFailures: 3, BreakerCoolDown: time.Hour}
	h.campaign("failing", applet, recipients("r", 5))
	h.createRuns()
	ctx, cancel := context.WithCancel(h.ctx)
	done := make(chan error, 1)
	d := h.dispatcher(nil)
	h.dispatcherWake = d.Wake
	go func() { done <- d.Run(ctx) }()
	// Once the third failure is recorded the account rests. Results are
	// recorded in batches, so one more send may have been claimed first.
	eventually(t, func() bool {
		return h.int64(`SELECT count(*) FROM sending_accounts WHERE consecutive_failures >= 3`) == 1 &&
			h.int64(`SELECT count(*) FROM deliveries WHERE status = 'sending'`) == 0
	})
	rested := h.api.Stats().Requests
	// Absence can only be shown by waiting: give the dispatcher a few
	// wake-ups and polls in which it must send nothing.
	for range 5 {
		h.dispatcherWake()
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if rested > 3+h.cfg.Concurrency {
		t.Errorf("%d requests before the breaker rested the account, want at most 3 + %d in flight", rested, h.cfg.Concurrency)
	}
	if n := h.api.Stats().Requests; n != rested {
		t.Errorf("%d requests while the account rested", n-rested)
	}
	if n := h.int64(`SELECT sum(attempts) FROM deliveries`); n != int64(rested) {
		t.Errorf("attempts spent = %d, want %d: resting deliveries spend none", n, rested)
	}
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

// crowded returns the 1-second windows in which the API saw more than
// burst + perSecond sends of one account (SPEC §6), allowing tolerance for
// the jitter of loopback requests: each window is 1s − tolerance long.
func crowded(ts []time.Time, burst int, perSecond float64, tolerance time.Duration) []string {
	limit := burst + int(perSecond)
	var out []string
	for i, start := range ts {
		end := start.Add(time.Second - tolerance)
		n := 0
		for _, t := range ts[i:] {
			if !t.After(end) {
				n++
			}
		}
		if n > limit {
			out = append(out, fmt.Sprintf("%d sends within 1s from send %d (limit %d)", n, i+1, limit))
		}
	}
	return out
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

func (s *slowTemplates) Template(ctx context.Context, campaignID int64) (campaign.Template, error) {
	s.wait()
	return s.DeliveryStore.Template(ctx, campaignID)
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
		for _, c := range crowded(got[acct], 1, 10, 10*time.Millisecond) {
			t.Errorf("%s: %s", acct, c)
		}
	}
}
