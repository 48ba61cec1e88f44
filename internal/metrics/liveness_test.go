package metrics_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/broadcaster/broadcaster/campaign"
	"github.com/broadcaster/broadcaster/campaign/campaigntest"
	"github.com/broadcaster/broadcaster/internal/metrics"
)

const (
	livePoll  = 5 * time.Second
	liveLimit = time.Minute
)

// errDown is what every store call returns while PostgreSQL is down.
var errDown = errors.New("connection refused")

// stores is a RunStore and a DeliveryStore that answer every call with err,
// after waiting for release when it is not nil.
type stores struct {
	err     error
	entered chan struct{} // receives once per call, when not nil
	release chan struct{}
}

func (s *stores) wait() error {
	if s.entered != nil {
		s.entered <- struct{}{}
	}
	if s.release != nil {
		<-s.release
	}
	return s.err
}

func (s *stores) DueOneShots(context.Context, time.Time) ([]campaign.CampaignRow, error) {
	return nil, s.wait()
}
func (s *stores) MarkInvalid(context.Context, int64, string) error { return s.wait() }
func (s *stores) CreateRun(context.Context, int64, time.Time) (campaign.Run, error) {
	return campaign.Run{}, s.wait()
}
func (s *stores) DueRecurring(context.Context, time.Time) ([]campaign.RecurringRow, error) {
	return nil, s.wait()
}
func (s *stores) SkipFiring(context.Context, int64, time.Time, string) error { return s.wait() }
func (s *stores) CompleteEnded(context.Context, time.Time) ([]int64, error)  { return nil, s.wait() }
func (s *stores) CancelCampaigns(context.Context) (int, int, error)          { return 0, 0, s.wait() }
func (s *stores) Claim(context.Context, campaign.ClaimParams) ([]campaign.Delivery, error) {
	return nil, s.wait()
}
func (s *stores) Record(context.Context, []campaign.Result) ([]int64, error) { return nil, s.wait() }
func (s *stores) Reap(context.Context, campaign.ReapParams) (int, error)     { return 0, s.wait() }
func (s *stores) Outstanding(context.Context, campaign.OutstandingParams) (campaign.Outstanding, error) {
	return campaign.Outstanding{}, s.wait()
}
func (s *stores) Release(context.Context, []campaign.Delivery) (int, error) { return 0, s.wait() }
func (s *stores) OpenTemplates(context.Context, []int64) ([]campaign.RunTemplate, error) {
	return nil, s.wait()
}

// Every call through a watched store, answered or failed, is a heartbeat.
func TestLoopWatchBeatsOnEveryStoreCall(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	type call func(campaign.RunStore, campaign.DeliveryStore) error
	calls := map[string]call{
		"DueOneShots": func(r campaign.RunStore, _ campaign.DeliveryStore) error {
			_, err := r.DueOneShots(ctx, time.Time{})
			return err
		},
		"MarkInvalid": func(r campaign.RunStore, _ campaign.DeliveryStore) error { return r.MarkInvalid(ctx, 1, "") },
		"CreateRun": func(r campaign.RunStore, _ campaign.DeliveryStore) error {
			_, err := r.CreateRun(ctx, 1, time.Time{})
			return err
		},
		"DueRecurring": func(r campaign.RunStore, _ campaign.DeliveryStore) error {
			_, err := r.DueRecurring(ctx, time.Time{})
			return err
		},
		"SkipFiring": func(r campaign.RunStore, _ campaign.DeliveryStore) error {
			return r.SkipFiring(ctx, 1, time.Time{}, "")
		},
		"CompleteEnded": func(r campaign.RunStore, _ campaign.DeliveryStore) error {
			_, err := r.CompleteEnded(ctx, time.Time{})
			return err
		},
		"CancelCampaigns": func(r campaign.RunStore, _ campaign.DeliveryStore) error {
			_, _, err := r.CancelCampaigns(ctx)
			return err
		},
		"Claim": func(_ campaign.RunStore, d campaign.DeliveryStore) error {
			_, err := d.Claim(ctx, campaign.ClaimParams{})
			return err
		},
		"Record": func(_ campaign.RunStore, d campaign.DeliveryStore) error {
			_, err := d.Record(ctx, nil)
			return err
		},
		"Reap": func(_ campaign.RunStore, d campaign.DeliveryStore) error {
			_, err := d.Reap(ctx, campaign.ReapParams{})
			return err
		},
		"Outstanding": func(_ campaign.RunStore, d campaign.DeliveryStore) error {
			_, err := d.Outstanding(ctx, campaign.OutstandingParams{})
			return err
		},
		"Release": func(_ campaign.RunStore, d campaign.DeliveryStore) error {
			_, err := d.Release(ctx, nil)
			return err
		},
		"OpenTemplates": func(_ campaign.RunStore, d campaign.DeliveryStore) error {
			_, err := d.OpenTemplates(ctx, nil)
			return err
		},
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			clock := campaigntest.NewClock(metricsT0)
			w := metrics.NewLoopWatch("loop", liveLimit, clock)
			s := &stores{err: errDown}
			clock.Advance(liveLimit + time.Second)
			if err := w.Check().Err(ctx); !errors.Is(err, metrics.ErrWedged) {
				t.Fatalf("before the call: %v, want ErrWedged", err)
			}
			if err := call(w.RunStore(s), w.DeliveryStore(s)); !errors.Is(err, errDown) {
				t.Errorf("%s through the watch = %v, want the store's error", name, err)
			}
			if err := w.Check().Err(ctx); err != nil {
				t.Errorf("after %s returned: %v, want live", name, err)
			}
		})
	}
}

func TestLoopWatch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name string
		// run drives the loop through the watched store and the clock.
		run    func(t *testing.T, clock *campaigntest.Clock, store campaign.RunStore)
		reason string // "" when live
	}{
		{name: "starting up", run: func(t *testing.T, clock *campaigntest.Clock, _ campaign.RunStore) {
			clock.Advance(liveLimit)
		}},
		{name: "never called its store", run: func(t *testing.T, clock *campaigntest.Clock, _ campaign.RunStore) {
			clock.Advance(liveLimit + time.Second)
		}, reason: "scheduler: wedged: no database call for 1m1s and none in progress (limit 1m0s)"},
		{name: "PostgreSQL down for hours, every call failing", run: func(t *testing.T, clock *campaigntest.Clock, store campaign.RunStore) {
			for range int(3 * time.Hour / livePoll) {
				clock.Advance(livePoll)
				_, _, _ = store.CancelCampaigns(ctx)
			}
		}},
		{name: "stopped going around", run: func(t *testing.T, clock *campaigntest.Clock, store campaign.RunStore) {
			_, _, _ = store.CancelCampaigns(ctx)
			clock.Advance(2 * time.Minute)
		}, reason: "scheduler: wedged: no database call for 2m0s and none in progress (limit 1m0s)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := campaigntest.NewClock(metricsT0)
			w := metrics.NewLoopWatch("scheduler", liveLimit, clock)
			tt.run(t, clock, w.RunStore(&stores{err: errDown}))
			c := w.Check()
			err := c.Err(ctx)
			if tt.reason == "" {
				if err != nil {
					t.Errorf("%s: %v, want live", c.Name, err)
				}
				return
			}
			if !errors.Is(err, metrics.ErrWedged) || c.Name+": "+err.Error() != tt.reason {
				t.Errorf("%s: %v, want %q wrapping ErrWedged", c.Name, err, tt.reason)
			}
		})
	}
}

// A call that hangs on an unreachable PostgreSQL is not a wedge, however
// long it takes; once it returns, the loop must go around again in time.
func TestLoopWatchWaitingOnTheDatabaseIsLive(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := campaigntest.NewClock(metricsT0)
	w := metrics.NewLoopWatch("dispatcher", liveLimit, clock)
	s := &stores{err: errDown, entered: make(chan struct{}), release: make(chan struct{})}
	store := w.DeliveryStore(s)
	returned := make(chan struct{})
	go func() {
		defer close(returned)
		_, _ = store.Claim(ctx, campaign.ClaimParams{})
	}()
	<-s.entered
	clock.Advance(5 * time.Hour)
	if err := w.Check().Err(ctx); err != nil {
		t.Errorf("with a call in progress for 5h: %v, want live", err)
	}
	close(s.release)
	<-returned
	if err := w.Check().Err(ctx); err != nil {
		t.Errorf("just after the call returned: %v, want live", err)
	}
	clock.Advance(liveLimit + time.Second)
	if err := w.Check().Err(ctx); !errors.Is(err, metrics.ErrWedged) {
		t.Errorf("a limit after the call returned, with no other: %v, want ErrWedged", err)
	}
}
