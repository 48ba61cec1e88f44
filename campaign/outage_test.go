package campaign_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/broadcaster/broadcaster/campaign"
	"github.com/broadcaster/broadcaster/campaign/campaigntest"
	"github.com/broadcaster/broadcaster/db"
	"github.com/broadcaster/broadcaster/internal/dbtest"
)

// Attempts as the sender classifies them.
var (
	refused = campaign.Attempt{Outcome: campaign.OutcomeRetry, Transport: true,
		Error: "request not sent: dial tcp: connect: connection refused"}
	gateway   = campaign.Attempt{Outcome: campaign.OutcomeRetry, Transport: true, HTTPStatus: 503, Error: "HTTP 503 Service Unavailable"}
	busy      = campaign.Attempt{Outcome: campaign.OutcomeRetry, HTTPStatus: 200, Code: "1001", Error: "code 1001: 失败"}
	notFriend = campaign.Attempt{Outcome: campaign.OutcomeFailed, HTTPStatus: 200, Code: "1002", Error: "code 1002: not a friend"}
	template  = campaign.Attempt{Outcome: campaign.OutcomeFailed, Error: "template: no appmsg"}
)

func TestAttemptAnsweredAndAccountFailure(t *testing.T) {
	tests := []struct {
		name                     string
		a                        campaign.Attempt
		answered, accountFailure bool
	}{
		{"sent", campaign.Attempt{Outcome: campaign.OutcomeSent, HTTPStatus: 200, Code: "1000"}, true, false},
		{"code 1001", busy, true, true},
		{"code 1002", notFriend, true, true},
		{"HTTP 401", campaign.Attempt{Outcome: campaign.OutcomeFailed, HTTPStatus: 401}, true, true},
		{"HTTP 429, a rate limit", campaign.Attempt{Outcome: campaign.OutcomeRetry, HTTPStatus: 429}, true, true},
		{"code without HTTP status (a fake sender)", campaign.Attempt{Outcome: campaign.OutcomeRetry, Code: "1001"}, true, true},
		{"connection refused", refused, false, false},
		{"HTTP 503", gateway, false, false},
		{"never reached the API", template, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.a.Answered(); got != tt.answered {
				t.Errorf("Answered() = %v, want %v", got, tt.answered)
			}
			if got := tt.a.AccountFailure(); got != tt.accountFailure {
				t.Errorf("AccountFailure() = %v, want %v", got, tt.accountFailure)
			}
		})
	}
}

// outageInstance is one process's view of the global pause, on the shared
// database, driven by hand.
type outageInstance struct {
	t *testing.T
	o *campaign.Outage
}

func newOutageInstance(t *testing.T, store campaign.OutageStore, clock campaign.Clock, cfg campaign.OutageConfig) *outageInstance {
	return &outageInstance{t: t, o: campaign.NewOutage(store, clock, zerolog.Nop(), cfg)}
}

// claim asks for free deliveries and returns the limit the pause let
// through to the store (0: the store was not asked), handing out give.
func (i *outageInstance) claim(free int, give ...campaign.Delivery) int {
	i.t.Helper()
	limit := 0
	_, err := i.o.Claim(context.Background(), free, func(n int) ([]campaign.Delivery, error) {
		limit = n
		return give[:min(n, len(give))], nil
	})
	if err != nil {
		i.t.Fatal(err)
	}
	return limit
}

func (i *outageInstance) observe(id int64, a campaign.Attempt) {
	i.o.Observe(campaign.Result{Delivery: campaign.Delivery{ID: id}, Attempt: a})
}

func (i *outageInstance) refresh() {
	i.t.Helper()
	if err := i.o.Refresh(context.Background()); err != nil {
		i.t.Fatal(err)
	}
}

func TestOutagePausesEveryInstanceProbesAndResumes(t *testing.T) {
	pool := dbtest.New(t)
	t0 := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := &campaigntest.Clock{}
	clock.Set(t0)
	at := func(d time.Duration) { clock.Set(t0.Add(d)) }
	cfg := campaign.OutageConfig{Failures: 3, ProbeEvery: 5 * time.Second, ProbeLease: 30 * time.Second}
	a := newOutageInstance(t, db.NewStore(pool, "instance-a"), clock, cfg)
	b := newOutageInstance(t, db.NewStore(pool, "instance-b"), clock, cfg)
	probe := func(id int64) campaign.Delivery { return campaign.Delivery{ID: id, WID: "w"} }

	// Failures must come in a row: an API answer in between restarts the count.
	a.observe(1, refused)
	a.observe(2, gateway)
	a.observe(3, busy)
	a.observe(4, refused)
	a.observe(5, refused)
	if got := a.claim(8); got != 8 {
		t.Fatalf("after two failures in a row the claim limit is %d, want 8", got)
	}
	// The third in a row pauses this process at once…
	a.observe(6, refused)
	if got := a.claim(8); got != 0 {
		t.Fatalf("paused: claim limit %d, want 0", got)
	}
	if err := a.o.Err(context.Background()); !errors.Is(err, campaign.ErrAPIPaused) {
		t.Fatalf("Err = %v, want ErrAPIPaused", err)
	}
	// …and every other once the state is shared.
	a.refresh()
	b.refresh()
	if got := b.claim(8); got != 0 {
		t.Fatalf("other instance: claim limit %d, want 0", got)
	}
	if a.o.Outages() != 1 || b.o.Outages() != 0 {
		t.Errorf("outages opened: a %d, b %d; want 1 and 0", a.o.Outages(), b.o.Outages())
	}

	// No probe before ProbeEvery.
	at(4 * time.Second)
	if a.claim(8) != 0 || b.claim(8) != 0 {
		t.Fatal("a probe went before its time")
	}
	// Then exactly one instance probes, with one delivery.
	at(5 * time.Second)
	if got := b.claim(8, probe(101)); got != 1 {
		t.Fatalf("b's probe: limit %d, want 1", got)
	}
	if got := a.claim(8, probe(102)); got != 0 {
		t.Fatalf("a claimed %d while b's probe is in flight", got)
	}
	// The probe fails: still paused, next probe ProbeEvery later.
	b.observe(101, refused)
	b.refresh()
	a.refresh()
	at(9 * time.Second)
	if a.claim(8) != 0 || b.claim(8) != 0 {
		t.Fatal("claimed before the next probe time")
	}
	at(10 * time.Second)
	// a may probe; nothing is due yet, so it keeps the probe for later.
	if got := a.claim(8); got != 1 {
		t.Fatalf("a's probe: limit %d, want 1", got)
	}
	if got := b.claim(8, probe(103)); got != 0 {
		t.Fatalf("b claimed %d while a holds the probe", got)
	}
	if got := a.claim(8, probe(104)); got != 1 {
		t.Fatalf("a's probe, now due: limit %d, want 1", got)
	}
	if got := a.claim(8, probe(105)); got != 0 {
		t.Fatalf("a claimed %d more while its probe is in flight", got)
	}
	// The API answers the probe (even a 1001 is an answer): a resumes at
	// once, b when it reads the shared state.
	a.observe(104, busy)
	if got := a.claim(8); got != 8 {
		t.Fatalf("after the probe's answer a's limit is %d, want 8", got)
	}
	if got := b.claim(8); got != 0 {
		t.Fatalf("b resumed (%d) before the shared state said so", got)
	}
	a.refresh()
	b.refresh()
	if got := b.claim(8); got != 8 {
		t.Fatalf("after refresh b's limit is %d, want 8", got)
	}
	if a.o.Err(context.Background()) != nil || b.o.Err(context.Background()) != nil {
		t.Error("Err is set after the resume")
	}
	if a.o.Probes() != 1 || b.o.Probes() != 1 {
		t.Errorf("probes sent: a %d, b %d; want 1 each", a.o.Probes(), b.o.Probes())
	}

	// A probe whose instance died: its lease runs out and another probes.
	at(time.Minute)
	for id := range int64(3) {
		b.observe(200+id, refused)
	}
	b.refresh()
	a.refresh()
	if b.o.Outages() != 1 {
		t.Errorf("b opened %d outages, want 1", b.o.Outages())
	}
	at(time.Minute + 5*time.Second)
	if got := a.claim(8, probe(301)); got != 1 {
		t.Fatalf("a's probe: limit %d, want 1", got)
	}
	// a dies here: its probe never reports.
	at(time.Minute + 34*time.Second)
	if got := b.claim(8, probe(302)); got != 0 {
		t.Fatalf("b probed (%d) while a's probe lease runs", got)
	}
	at(time.Minute + 35*time.Second)
	if got := b.claim(8, probe(302)); got != 1 {
		t.Fatalf("b's probe after a's lease ran out: limit %d, want 1", got)
	}
}

func TestOutageDisabledNeverPauses(t *testing.T) {
	pool := dbtest.New(t)
	clock := &campaigntest.Clock{}
	clock.Set(time.Now())
	for _, o := range []*campaign.Outage{
		nil,
		campaign.NewOutage(db.NewStore(pool, "x"), clock, zerolog.Nop(), campaign.OutageConfig{Failures: 0}),
	} {
		i := &outageInstance{t: t, o: o}
		for id := range int64(50) {
			i.observe(id, refused)
		}
		i.refresh()
		if got := i.claim(8); got != 8 {
			t.Errorf("disabled pause: limit %d, want 8", got)
		}
		if _, paused := o.Paused(); paused || o.Wait() != 0 {
			t.Error("disabled pause reports paused")
		}
	}
}

// A probe that never reaches the API (its template is broken) is no verdict:
// the next probe may go at once.
func TestOutageProbeWithoutVerdictProbesAgain(t *testing.T) {
	pool := dbtest.New(t)
	clock := &campaigntest.Clock{}
	t0 := time.Now()
	clock.Set(t0)
	i := newOutageInstance(t, db.NewStore(pool, "x"), clock, campaign.OutageConfig{Failures: 1, ProbeEvery: time.Minute})
	i.observe(1, refused)
	i.refresh()
	clock.Set(t0.Add(time.Minute))
	if got := i.claim(4, campaign.Delivery{ID: 2}); got != 1 {
		t.Fatalf("probe: limit %d, want 1", got)
	}
	i.observe(2, template)
	i.refresh()
	if got := i.claim(4, campaign.Delivery{ID: 3}); got != 1 {
		t.Fatalf("probe after a probe without verdict: limit %d, want 1", got)
	}
	if _, paused := i.o.Paused(); !paused {
		t.Error("a probe without verdict resumed sending")
	}
}

// A process that stops holding a probe it never sent hands it on: another
// instance probes at its next refresh instead of waiting out the lease.
func TestOutageHandsOnAnUnsentProbeAtStop(t *testing.T) {
	pool := dbtest.New(t)
	clock := &campaigntest.Clock{}
	t0 := time.Now()
	clock.Set(t0)
	cfg := campaign.OutageConfig{Failures: 1, ProbeEvery: time.Second, ProbeLease: time.Hour}
	a := newOutageInstance(t, db.NewStore(pool, "a"), clock, cfg)
	b := newOutageInstance(t, db.NewStore(pool, "b"), clock, cfg)
	a.observe(1, refused)
	a.refresh()
	b.refresh()
	clock.Set(t0.Add(time.Second))
	if got := a.claim(4); got != 1 {
		t.Fatalf("a's probe: limit %d, want 1", got)
	}
	if got := b.claim(4); got != 0 {
		t.Fatalf("b claimed %d while a holds the probe", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.o.Run(ctx) }()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	b.refresh()
	if got := b.claim(4, campaign.Delivery{ID: 2}); got != 1 {
		t.Fatalf("b's probe after a stopped: limit %d, want 1", got)
	}
}

// Each probe spends a real delivery's attempt, so in a long outage they
// thin out: the wait is a quarter of the outage's age, between ProbeEvery
// (5s) and 15s, so sending resumes within seconds of the API's return.
func TestOutageProbesLessOftenAsTheOutageLasts(t *testing.T) {
	pool := dbtest.New(t)
	clock := &campaigntest.Clock{}
	t0 := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	clock.Set(t0)
	i := newOutageInstance(t, db.NewStore(pool, "x"), clock, campaign.OutageConfig{Failures: 1})
	i.observe(1, refused)
	i.refresh()
	id := int64(1)
	for _, tt := range []struct{ failAt, wait time.Duration }{
		{5 * time.Second, 5 * time.Second},   // age 5s: ProbeEvery
		{10 * time.Second, 5 * time.Second},  // age 10s: still ProbeEvery
		{40 * time.Second, 10 * time.Second}, // age 40s: a quarter of it
		{time.Hour, 15 * time.Second},        // age 1h: at most 15s
		{time.Hour + time.Minute, 15 * time.Second},
	} {
		clock.Set(t0.Add(tt.failAt))
		id++
		if got := i.claim(4, campaign.Delivery{ID: id}); got != 1 {
			t.Fatalf("probe at %v: limit %d, want 1", tt.failAt, got)
		}
		i.observe(id, refused)
		i.refresh()
		clock.Set(t0.Add(tt.failAt + tt.wait - time.Millisecond))
		if got := i.claim(4); got != 0 {
			t.Fatalf("after the probe failed at %v, probed again within %v", tt.failAt, tt.wait)
		}
		clock.Set(t0.Add(tt.failAt + tt.wait))
		if got := i.claim(4); got != 1 {
			t.Fatalf("after the probe failed at %v, no probe %v later: limit %d", tt.failAt, tt.wait, got)
		}
	}
}

// A probe claimed but never sent (released, or a stop came) is no verdict
// and no Observe follows: Unsent hands it on at once, here or elsewhere.
func TestOutageUnsentProbeIsHandedOn(t *testing.T) {
	pool := dbtest.New(t)
	clock := &campaigntest.Clock{}
	t0 := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	clock.Set(t0)
	cfg := campaign.OutageConfig{Failures: 1, ProbeEvery: time.Second, ProbeLease: time.Hour}
	a := newOutageInstance(t, db.NewStore(pool, "a"), clock, cfg)
	b := newOutageInstance(t, db.NewStore(pool, "b"), clock, cfg)
	a.observe(1, refused)
	a.refresh()
	clock.Set(t0.Add(time.Second))
	if got := a.claim(4, campaign.Delivery{ID: 2}); got != 1 {
		t.Fatalf("a's probe: limit %d, want 1", got)
	}
	a.o.Unsent(3) // not the probe: nothing changes
	a.refresh()
	b.refresh()
	if a.claim(4) != 0 || b.claim(4) != 0 {
		t.Fatal("claimed while a's probe is in flight")
	}
	a.o.Unsent(2)
	a.refresh()
	b.refresh()
	if got := b.claim(4, campaign.Delivery{ID: 4}); got != 1 {
		t.Fatalf("b's probe after a's went unsent: limit %d, want 1", got)
	}
	b.o.Unsent(4)
	b.refresh()
	if got := b.claim(4, campaign.Delivery{ID: 4}); got != 1 {
		t.Fatalf("b's probe again after its own went unsent: limit %d, want 1", got)
	}
	if _, paused := a.o.Paused(); !paused {
		t.Error("an unsent probe resumed sending")
	}
}
