package campaign

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/broadcaster/broadcaster/campaign/campaigntest"
)

// A send of an account waits for the one before it (1/PerSecond apart,
// Burst back to back); other accounts do not wait for it. A waiting send
// that is stopped gives its place back. A cancelled context tells whether a
// send would have waited: wait returns nil at once when it need not.
func TestSpacerKeepsEachAccountsSendsApart(t *testing.T) {
	stopped, cancel := context.WithCancel(context.Background())
	cancel()
	clock := campaigntest.NewClock(time.Date(2026, 11, 30, 2, 0, 0, 0, time.UTC))
	s := newSpacer(Pacing{PerSecond: 2, Burst: 2})
	steps := []struct {
		name    string
		advance time.Duration
		wID     string
		waits   bool
	}{
		{"first send", 0, "a", false},
		{"second, within the burst", 0, "a", false},
		{"third at once", 0, "a", true},
		{"another account", 0, "b", false},
		{"third, a little early", 499 * time.Millisecond, "a", true},
		{"third, on time", time.Millisecond, "a", false},
		{"fourth at once", 0, "a", true},
	}
	for _, st := range steps {
		clock.Advance(st.advance)
		err := s.wait(stopped, clock, st.wID)
		if waited := errors.Is(err, context.Canceled); waited != st.waits {
			t.Errorf("%s: waited = %v (%v), want %v", st.name, waited, err, st.waits)
		}
	}
}

func TestSpacerWaitsOutItsTurn(t *testing.T) {
	clock := campaigntest.NewClock(time.Now())
	s := newSpacer(Pacing{PerSecond: 20, Burst: 1})
	if err := s.wait(context.Background(), clock, "a"); err != nil {
		t.Fatal(err)
	}
	started := time.Now()
	if err := s.wait(context.Background(), clock, "a"); err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(started); waited < 45*time.Millisecond {
		t.Errorf("the second send of a at 20/s waited %v, want about 50ms", waited)
	}
}

func TestNoSpacerWithoutPacing(t *testing.T) {
	if s := newSpacer(Pacing{}); s != nil {
		t.Fatalf("newSpacer(no pacing) = %v, want nil", s)
	}
	var s *spacer
	if err := s.wait(context.Background(), &campaigntest.Clock{}, "a"); err != nil {
		t.Errorf("nil spacer: %v", err)
	}
}

// Accounts idle long enough to send a burst again are forgotten, so the
// spacer holds about the accounts sending now, whatever their number.
func TestSpacerForgetsIdleAccounts(t *testing.T) {
	clock := campaigntest.NewClock(time.Date(2026, 11, 30, 2, 0, 0, 0, time.UTC))
	s := newSpacer(Pacing{PerSecond: 1, Burst: 1})
	for i := range 3 * sweepEvery {
		clock.Advance(10 * time.Millisecond)
		if err := s.wait(context.Background(), clock, fmt.Sprintf("w%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(s.accounts); n > sweepEvery+100 {
		t.Errorf("the spacer holds %d accounts after %d sent once each, 10 ms apart, at 1/s: want at most about %d",
			n, 3*sweepEvery, sweepEvery+100)
	}
}
