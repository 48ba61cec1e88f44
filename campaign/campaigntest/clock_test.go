package campaigntest_test

import (
	"sync"
	"testing"
	"time"

	"github.com/broadcaster/broadcaster/campaign"
	"github.com/broadcaster/broadcaster/campaign/campaigntest"
)

// Clock is a campaign.Clock, though its package does not import campaign.
var _ campaign.Clock = (*campaigntest.Clock)(nil)

// The clock reads what the test set, moves only when the test moves it, and
// Advance returns the time it moved to.
func TestClockMovesOnlyByHand(t *testing.T) {
	t0 := time.Date(2026, 11, 30, 2, 0, 0, 0, time.UTC)
	c := campaigntest.NewClock(t0)
	if got := c.Now(); !got.Equal(t0) {
		t.Fatalf("NewClock(%v).Now() = %v", t0, got)
	}
	time.Sleep(time.Millisecond)
	if got := c.Now(); !got.Equal(t0) {
		t.Errorf("the clock moved by itself: Now() = %v, want %v", got, t0)
	}
	if got, want := c.Advance(time.Second), t0.Add(time.Second); !got.Equal(want) || !c.Now().Equal(want) {
		t.Errorf("Advance(1s) = %v, Now() = %v, want %v", got, c.Now(), want)
	}
	c.Set(t0.Add(-time.Hour))
	if got, want := c.Now(), t0.Add(-time.Hour); !got.Equal(want) {
		t.Errorf("after Set back an hour, Now() = %v, want %v", got, want)
	}
	var zero campaigntest.Clock
	if got := zero.Now(); !got.IsZero() {
		t.Errorf("the zero Clock reads %v, want the zero time", got)
	}
}

// A service reads the clock from its goroutine while the test moves it: run
// with -race, this fails if the clock is not safe for concurrent use. The
// reader never sees time go backwards while the test only advances it.
func TestClockIsSafeForConcurrentUse(t *testing.T) {
	t0 := time.Date(2026, 11, 30, 2, 0, 0, 0, time.UTC)
	c := campaigntest.NewClock(t0)
	const steps = 1000
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		last := t0
		for {
			select {
			case <-stop:
				return
			default:
			}
			now := c.Now()
			if now.Before(last) {
				t.Errorf("the clock went back from %v to %v", last, now)
				return
			}
			last = now
		}
	})
	for range steps {
		c.Advance(time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if got, want := c.Now(), t0.Add(steps*time.Millisecond); !got.Equal(want) {
		t.Errorf("after %d advances of 1ms, Now() = %v, want %v", steps, got, want)
	}
}
