package metrics

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/broadcaster/broadcaster/campaign"
)

// ErrWedged is wrapped by a failed liveness check: a loop of the process
// has stopped going around, which only a restart can fix.
var ErrWedged = errors.New("wedged")

// LoopWatch tells /livez whether one of the daemon's loops (the scheduler,
// the dispatcher) still goes around. Each loop talks to its store every
// poll interval or more often, so the watch decorates the store: every call
// that returns, with a result or an error, is a heartbeat.
//
// What "wedged" means: no store call has returned for longer than the
// limit and none is in progress. The loop is then stuck outside the
// database (a deadlock, a blocked channel, a goroutine that died), and a
// restart is the cure. Time spent inside a store call never counts: a loop
// waiting on an unreachable or slow PostgreSQL is not wedged, and
// restarting it would not bring the database back but would lose the
// results held in memory. The database is /readyz's business.
//
// It is safe for concurrent use.
type LoopWatch struct {
	name  string
	limit time.Duration
	clock campaign.Clock

	busy atomic.Int64 // store calls in progress
	last atomic.Int64 // unix nanoseconds of the latest return, or of the start
}

// NewLoopWatch watches the loop called name, which is wedged after limit
// without a store call returning (e.g. a few poll intervals; the start
// counts as a return). clock nil means the wall clock.
func NewLoopWatch(name string, limit time.Duration, clock campaign.Clock) *LoopWatch {
	if clock == nil {
		clock = campaign.SystemClock{}
	}
	w := &LoopWatch{name: name, limit: limit, clock: clock}
	w.last.Store(clock.Now().UnixNano())
	return w
}

// Check is the liveness check named after the loop, for Server.Live.
func (w *LoopWatch) Check() Check {
	return Check{Name: w.name, Err: func(context.Context) error { return w.wedged() }}
}

func (w *LoopWatch) wedged() error {
	if w.busy.Load() > 0 {
		return nil
	}
	idle := w.clock.Now().Sub(time.Unix(0, w.last.Load()))
	if idle > w.limit {
		return fmt.Errorf("%w: no database call for %s and none in progress (limit %s)", ErrWedged,
			idle.Round(time.Second), w.limit)
	}
	return nil
}

// call marks a store call in progress; the function it returns marks its
// return. Use: defer w.call()().
func (w *LoopWatch) call() func() {
	w.busy.Add(1)
	return func() {
		w.last.Store(w.clock.Now().UnixNano())
		w.busy.Add(-1)
	}
}

// RunStore returns s with every call a heartbeat, for the scheduler.
func (w *LoopWatch) RunStore(s campaign.RunStore) campaign.RunStore {
	return watchedRunStore{RunStore: s, w: w}
}

// DeliveryStore returns s with every call a heartbeat, for the dispatcher
// (its loop, workers and result writer).
func (w *LoopWatch) DeliveryStore(s campaign.DeliveryStore) campaign.DeliveryStore {
	return watchedDeliveryStore{DeliveryStore: s, w: w}
}

// watchedRunStore is RunStore with heartbeats. Methods added to RunStore
// later pass through unwatched until they are added here.
type watchedRunStore struct {
	campaign.RunStore
	w *LoopWatch
}

func (s watchedRunStore) DueOneShots(ctx context.Context, now time.Time) ([]campaign.CampaignRow, error) {
	defer s.w.call()()
	return s.RunStore.DueOneShots(ctx, now)
}

func (s watchedRunStore) MarkInvalid(ctx context.Context, campaignID int64, reason string) error {
	defer s.w.call()()
	return s.RunStore.MarkInvalid(ctx, campaignID, reason)
}

func (s watchedRunStore) CreateRun(ctx context.Context, campaignID int64, scheduledFor time.Time) (campaign.Run, error) {
	defer s.w.call()()
	return s.RunStore.CreateRun(ctx, campaignID, scheduledFor)
}

func (s watchedRunStore) DueRecurring(ctx context.Context, now time.Time) ([]campaign.RecurringRow, error) {
	defer s.w.call()()
	return s.RunStore.DueRecurring(ctx, now)
}

func (s watchedRunStore) SkipFiring(ctx context.Context, campaignID int64, at time.Time, note string) error {
	defer s.w.call()()
	return s.RunStore.SkipFiring(ctx, campaignID, at, note)
}

func (s watchedRunStore) CompleteEnded(ctx context.Context, now time.Time) ([]int64, error) {
	defer s.w.call()()
	return s.RunStore.CompleteEnded(ctx, now)
}

func (s watchedRunStore) CancelCampaigns(ctx context.Context) (deliveries, runs int, err error) {
	defer s.w.call()()
	return s.RunStore.CancelCampaigns(ctx)
}

// watchedDeliveryStore is DeliveryStore with heartbeats. Methods added to
// DeliveryStore later pass through unwatched until they are added here.
type watchedDeliveryStore struct {
	campaign.DeliveryStore
	w *LoopWatch
}

func (s watchedDeliveryStore) Claim(ctx context.Context, p campaign.ClaimParams) ([]campaign.Delivery, error) {
	defer s.w.call()()
	return s.DeliveryStore.Claim(ctx, p)
}

func (s watchedDeliveryStore) Record(ctx context.Context, results []campaign.Result) ([]int64, error) {
	defer s.w.call()()
	return s.DeliveryStore.Record(ctx, results)
}

func (s watchedDeliveryStore) Reap(ctx context.Context, p campaign.ReapParams) (int, error) {
	defer s.w.call()()
	return s.DeliveryStore.Reap(ctx, p)
}

func (s watchedDeliveryStore) Outstanding(ctx context.Context, p campaign.OutstandingParams) (campaign.Outstanding, error) {
	defer s.w.call()()
	return s.DeliveryStore.Outstanding(ctx, p)
}

func (s watchedDeliveryStore) Release(ctx context.Context, ds []campaign.Delivery) (int, error) {
	defer s.w.call()()
	return s.DeliveryStore.Release(ctx, ds)
}

func (s watchedDeliveryStore) OpenTemplates(ctx context.Context, known []int64) ([]campaign.RunTemplate, error) {
	defer s.w.call()()
	return s.DeliveryStore.OpenTemplates(ctx, known)
}
