package campaign_test

import (
	"context"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/sourcegraph/conc"

	"github.com/broadcaster/broadcaster/campaign"
	"github.com/broadcaster/broadcaster/sender"
	"github.com/broadcaster/broadcaster/sender/sendertest"
)

// switchableAPI is the fake API on a fixed loopback address that can go
// away, so that connections are refused as when the provider is down, and
// come back on the same address.
type switchableAPI struct {
	t    *testing.T
	srv  *sendertest.Server
	addr string
	stop context.CancelFunc
	done chan struct{}
}

func newSwitchableAPI(t *testing.T, cfg sendertest.Config) *switchableAPI {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := &switchableAPI{t: t, srv: sendertest.New(cfg), addr: l.Addr().String()}
	a.serve(l)
	t.Cleanup(a.down)
	return a
}

func (a *switchableAPI) serve(l net.Listener) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	a.stop, a.done = cancel, done
	go func() {
		defer close(done)
		_ = a.srv.Serve(ctx, l)
	}()
}

// down closes the listener: from now on connections are refused.
func (a *switchableAPI) down() {
	if a.stop != nil {
		a.stop()
		<-a.done
		a.stop = nil
	}
}

// up serves again on the same address.
func (a *switchableAPI) up() {
	a.t.Helper()
	l, err := net.Listen("tcp", a.addr)
	if err != nil {
		a.t.Fatalf("listen again on %s: %v", a.addr, err)
	}
	a.serve(l)
}

func (a *switchableAPI) client(t *testing.T) *sender.Client {
	t.Helper()
	c, err := sender.New(sender.Options{BaseURL: "http://" + a.addr, Timeout: 2 * time.Second, MaxConns: 8})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// accountCampaign inserts a one-shot campaign due now sending from wID.
func (h *harness) accountCampaign(wID string, rcpts []string) int64 {
	h.t.Helper()
	id := h.campaign(wID, applet, rcpts)
	h.exec(`UPDATE campaigns SET w_id = $2 WHERE id = $1`, id, wID)
	return id
}

// running runs the dispatcher and the outage service until the returned
// stop is called; stop fails the test if either failed.
func (h *harness) running(d *campaign.Dispatcher, o *campaign.Outage) (stop func()) {
	h.t.Helper()
	ctx, cancel := context.WithCancel(h.ctx)
	var (
		wg           conc.WaitGroup
		dErr, outErr error
		stopped      bool
	)
	wg.Go(func() { dErr = d.Run(ctx) })
	wg.Go(func() { outErr = o.Run(ctx) })
	stop = func() {
		h.t.Helper()
		if stopped {
			return
		}
		stopped = true
		cancel()
		wg.Wait()
		if dErr != nil || outErr != nil {
			h.t.Fatalf("dispatcher: %v, outage: %v", dErr, outErr)
		}
	}
	h.t.Cleanup(stop)
	return stop
}

func TestWholeAPIOutagePausesSendingNotAccounts(t *testing.T) {
	tests := []struct {
		name     string
		down, up func(*switchableAPI)
	}{
		{"connection refused", (*switchableAPI).down, (*switchableAPI).up},
		{"HTTP 503 from the front",
			func(a *switchableAPI) {
				a.srv.Update(func(c *sendertest.Config) { c.Fault = sendertest.HTTPError(503, "") })
			},
			func(a *switchableAPI) { a.srv.Update(func(c *sendertest.Config) { c.Fault = sendertest.Fault{} }) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, sendertest.Config{})
			api := newSwitchableAPI(t, sendertest.Config{})
			h.cfg.Concurrency = 4
			h.cfg.Retry = campaign.RetryPolicy{MaxAttempts: 5, Backoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}
			h.cfg.Pacing = campaign.Pacing{Burst: 1, BreakerFailures: 3, BreakerCoolDown: time.Hour}
			const failures = 3
			logs := newLogLines()
			outage := campaign.NewOutage(h.store, campaign.SystemClock{}, zerolog.New(logs), campaign.OutageConfig{
				Failures: failures, ProbeEvery: 20 * time.Millisecond, MaxProbeEvery: 50 * time.Millisecond, ProbeLease: 10 * time.Second,
				Refresh: 10 * time.Millisecond, Accounts: h.cfg.Pacing,
			})
			h.cfg.Outage = outage
			accounts := []string{"wid-a", "wid-b", "wid-c"}
			for _, w := range accounts {
				h.accountCampaign(w, recipients(w+"_", 10))
			}
			h.createRuns()

			tt.down(api)
			stop := h.running(h.dispatcher(api.client(t)), outage)
			// The pause opens, and probes go and fail, one at a time.
			eventually(t, func() bool {
				_, paused := outage.Paused()
				return paused && outage.Probes() >= 3
			})
			if n := h.int64(`SELECT count(*) FROM sending_accounts WHERE consecutive_failures > 0`); n != 0 {
				t.Errorf("%d accounts' breakers counted the API's outage", n)
			}
			// Waiting out the pause spends no attempts: only the failures
			// that opened it, the requests then in flight, and the probes.
			spent := h.int64(`SELECT coalesce(sum(attempts), 0) FROM deliveries`)
			if limit := int64(failures+h.cfg.Concurrency) + outage.Probes(); spent > limit {
				t.Errorf("%d attempts spent during the outage, want at most %d", spent, limit)
			}
			if err := outage.Err(h.ctx); err == nil || !strings.Contains(err.Error(), "since") {
				t.Errorf("Err = %v, want the pause with its start", err)
			}

			// The API returns: sending resumes at the next probe.
			probes := outage.Probes()
			tt.up(api)
			eventually(t, func() bool {
				return h.int64(`SELECT count(*) FROM deliveries WHERE status = 'sent'`) == 30
			})
			stop()
			// One probe may have been under way as the API came back; the
			// next one finds it.
			if extra := outage.Probes() - probes; extra > 2 {
				t.Errorf("%d probes after the API came back, want at most 2", extra)
			}
			if n := outage.Outages(); n != 1 {
				t.Errorf("%d outages opened, want 1", n)
			}
			if n := h.int64(`SELECT count(*) FROM deliveries WHERE status <> 'sent'`); n != 0 {
				t.Errorf("%d deliveries not sent", n)
			}
			sent := map[string]int{}
			for _, r := range api.srv.Requests() {
				if r.Sent() {
					sent[r.WcID]++
				}
			}
			for wc, n := range sent {
				if n != 1 {
					t.Errorf("%s sent %d times", wc, n)
				}
			}
			if len(sent) != 30 {
				t.Errorf("%d recipients sent to, want 30", len(sent))
			}
			if h.int64(`SELECT count(*) FROM api_outage WHERE since IS NULL`) != 1 {
				t.Error("api_outage still paused")
			}
			if len(withField(logs.with("API unreachable: sending paused on every instance, probing until it answers"), "breaker", "api")) != 1 ||
				len(withField(logs.with("API answers again: sending resumed on every instance"), "breaker", "api")) != 1 {
				t.Error("the pause and the resume were not logged once each, as the API breaker")
			}
		})
	}
}

// The account breaker still rests an account whose API answers keep failing
// while the others send; failures of the API as a whole in between neither
// count towards it nor pause anyone.
func TestBreakerRestsAnAccountOnItsAnswersOnly(t *testing.T) {
	faults := map[string]sendertest.Fault{}
	var rcptsA []string
	for i := range 7 {
		wc := "a" + itoa(int64(i))
		rcptsA = append(rcptsA, wc)
		faults[wc] = sendertest.Code("1002", "not a friend") // a0, a2, a4, a6
		if i%2 == 1 {
			faults[wc] = sendertest.HTTPError(503, "") // a1, a3, a5
		}
	}
	h := newHarness(t, sendertest.Config{Faults: faults})
	h.cfg.Concurrency = 1
	h.cfg.Retry = campaign.RetryPolicy{MaxAttempts: 1}
	h.cfg.Pacing = campaign.Pacing{Burst: 1, BreakerFailures: 3, BreakerCoolDown: time.Hour}
	logs := newLogLines()
	outage := campaign.NewOutage(h.store, campaign.SystemClock{}, zerolog.New(logs), campaign.OutageConfig{
		Failures: 2, ProbeEvery: 20 * time.Millisecond, Refresh: 10 * time.Millisecond, Accounts: h.cfg.Pacing,
	})
	h.cfg.Outage = outage
	h.accountCampaign("wid-a", rcptsA)
	h.accountCampaign("wid-b", recipients("b_", 10))
	h.createRuns()
	// a0 first, a6 last.
	h.exec(`UPDATE deliveries SET next_attempt_at = now() - interval '1 hour' + substr(wc_id, 2)::int * interval '1 second'
		WHERE wc_id LIKE 'a%'`)

	stop := h.running(h.dispatcher(nil), outage)
	eventually(t, func() bool {
		return h.int64(`SELECT count(*) FROM deliveries WHERE wc_id LIKE 'b%' AND status = 'sent'`) == 10 &&
			h.int64(`SELECT count(*) FROM sending_accounts WHERE w_id = 'wid-a' AND consecutive_failures >= 3`) == 1 &&
			h.int64(`SELECT count(*) FROM deliveries WHERE status = 'sending'`) == 0 &&
			outage.RestingAccounts() == 1
	})
	stop()
	answers := map[string]int{}
	for _, r := range h.api.Requests() {
		if strings.HasPrefix(r.WcID, "a") {
			answers[r.Code]++
		}
	}
	if answers["1002"] != 3 {
		t.Errorf("wid-a rested after %d answers of code 1002 (%v), want 3: the 503s are not its own", answers["1002"], answers)
	}
	if n := h.int64(`SELECT count(*) FROM deliveries WHERE wc_id LIKE 'a%' AND status = 'pending' AND attempts = 0`); n != 2 {
		t.Errorf("%d of wid-a's deliveries wait unattempted, want 2 (a5, a6)", n)
	}
	if n := outage.Outages(); n != 0 {
		t.Errorf("%d global pauses: one account's trouble paused everyone", n)
	}
	if len(withField(logs.with("account circuit breaker open: accounts whose API answers keep failing are resting"), "breaker", "account")) == 0 {
		t.Error("the resting account was not logged as the account breaker")
	}
}

// withField keeps the log lines whose key has value v.
func withField(lines []map[string]any, key string, v any) []map[string]any {
	var out []map[string]any
	for _, l := range lines {
		if l[key] == v {
			out = append(out, l)
		}
	}
	return out
}

// templatesLate hides the open runs' templates from the first load, as when
// a run begins between the load and the claim: what that claim takes is
// released unsent.
type templatesLate struct {
	campaign.DeliveryStore
	hidden atomic.Bool
}

func (s *templatesLate) OpenTemplates(ctx context.Context, known []int64) ([]campaign.RunTemplate, error) {
	if s.hidden.CompareAndSwap(false, true) {
		return nil, nil
	}
	return s.DeliveryStore.OpenTemplates(ctx, known)
}

// pausedOutage opens a global pause in the database, due to probe now, and
// returns this process's view of it, already read.
func (h *harness) pausedOutage() *campaign.Outage {
	h.t.Helper()
	h.exec(`UPDATE api_outage SET since = now(), paused_until = now(), last_error = 'refused'`)
	o := campaign.NewOutage(h.store, campaign.SystemClock{}, zerolog.Nop(), campaign.OutageConfig{
		Failures: 3, ProbeEvery: 20 * time.Millisecond, ProbeLease: time.Hour, Refresh: 10 * time.Millisecond,
	})
	if err := o.Refresh(h.ctx); err != nil {
		h.t.Fatal(err)
	}
	if _, paused := o.Paused(); !paused {
		h.t.Fatal("the pause was not read")
	}
	return o
}

// A probe the dispatcher claims but releases unsent (its run's template was
// not prepared yet) is no verdict: the next probe goes at once, not after
// the probe's lease.
func TestReleasedProbeIsProbedAgainAtOnce(t *testing.T) {
	h := newHarness(t, sendertest.Config{})
	h.campaign("late", applet, recipients("r", 3))
	h.createRuns()
	outage := h.pausedOutage()
	h.cfg.Outage = outage
	store := &templatesLate{DeliveryStore: h.store}
	h.running(campaign.NewDispatcher(store, h.snd, h.cfg, zerolog.Nop()), outage)
	eventually(t, func() bool {
		return h.int64(`SELECT count(*) FROM deliveries WHERE status = 'sent'`) == 3
	})
	if !store.hidden.Load() {
		t.Fatal("the templates were never hidden")
	}
	if n := h.int64(`SELECT count(*) FROM deliveries WHERE attempts <> 1`); n != 0 {
		t.Errorf("%d deliveries spent other than one attempt: the released probe must give its attempt back", n)
	}
	if _, paused := outage.Paused(); paused {
		t.Error("still paused after the probe's answer")
	}
}

// A probe claimed as a stop comes is released, and the stopping process
// hands the probe on, so another instance probes at once instead of
// waiting out the lease.
func TestStopHandsOnAProbeClaimedButNotSent(t *testing.T) {
	h := newHarness(t, sendertest.Config{})
	h.campaign("stop", applet, recipients("r", 3))
	h.createRuns()
	outage := h.pausedOutage()
	h.cfg.Outage = outage
	ctx, cancel := context.WithCancel(h.ctx)
	defer cancel()
	if err := campaign.NewDispatcher(stopMidClaim{h.store, cancel}, h.snd, h.cfg, zerolog.Nop()).Run(ctx); err != nil {
		t.Fatalf("Run = %v, want a clean stop", err)
	}
	if n := h.api.Stats().Requests; n != 0 {
		t.Fatalf("%d requests after the stop, want none", n)
	}
	if outage.Probes() != 1 {
		t.Fatalf("%d probes claimed, want 1", outage.Probes())
	}
	// The outage service stops after the dispatcher, as in the daemon.
	if err := outage.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if s := h.str(`SELECT coalesce(probe_owner, 'none') FROM api_outage`); s != "none" {
		t.Errorf("probe still held by %s after the stop", s)
	}
	if s := h.str(`SELECT string_agg(DISTINCT status || ' ' || attempts, ',') FROM deliveries`); s != "pending 0" {
		t.Errorf("deliveries after the stop: %s, want all pending 0", s)
	}
}
