package metrics

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/broadcaster/broadcaster/campaign"
)

// ErrDatabaseUnreachable is wrapped by a failed health check whose database
// did not answer: the process can neither claim nor record.
var ErrDatabaseUnreachable = errors.New("database unreachable")

// ErrSchedulerStale is wrapped by a failed health check whose scheduler has
// not completed a tick for too long: due campaigns are not being started.
var ErrSchedulerStale = errors.New("scheduler stalled")

// Health decides whether this process does its job: its database answers
// and its scheduler keeps ticking. Kubernetes or systemd restart a process
// whose /healthz keeps failing.
type Health struct {
	ping     func(context.Context) error
	lastTick func() time.Time
	maxAge   time.Duration
	clock    campaign.Clock
	started  time.Time
}

// NewHealth returns a health check. ping checks the database (e.g. the
// pool's Ping); lastTick says when the scheduler last completed a tick (e.g.
// a Heartbeat's Last) and maxAge how old that may be (e.g. three poll
// intervals). A nil ping or lastTick, or a maxAge of 0, leaves that check
// out. Before the first tick the age counts from NewHealth, so a process
// starting up is given maxAge to tick. clock nil means the wall clock.
func NewHealth(ping func(context.Context) error, lastTick func() time.Time, maxAge time.Duration, clock campaign.Clock) *Health {
	if clock == nil {
		clock = campaign.SystemClock{}
	}
	return &Health{ping: ping, lastTick: lastTick, maxAge: maxAge, clock: clock, started: clock.Now()}
}

// Check returns nil when healthy, else an error wrapping
// ErrDatabaseUnreachable or ErrSchedulerStale that says why. It is
// Server.Health.
func (h *Health) Check(ctx context.Context) error {
	if h.ping != nil {
		if err := h.ping(ctx); err != nil {
			return fmt.Errorf("%w: %w", ErrDatabaseUnreachable, err)
		}
	}
	if h.lastTick == nil || h.maxAge <= 0 {
		return nil
	}
	now := h.clock.Now()
	last := h.lastTick()
	if last.IsZero() {
		if age := now.Sub(h.started); age > h.maxAge {
			return fmt.Errorf("%w: no successful tick in %s since start (limit %s)", ErrSchedulerStale,
				age.Round(time.Second), h.maxAge)
		}
		return nil
	}
	if age := now.Sub(last); age > h.maxAge {
		return fmt.Errorf("%w: last successful tick %s ago (limit %s)", ErrSchedulerStale,
			age.Round(time.Second), h.maxAge)
	}
	return nil
}

// Heartbeat remembers when a loop last succeeded, for Health: the scheduler
// loop beats after each successful tick and the health check reads it from
// HTTP handlers, so it is safe for concurrent use. Its zero value has never
// beaten.
type Heartbeat struct {
	unixNano atomic.Int64
}

// Beat records a success at t.
func (h *Heartbeat) Beat(t time.Time) { h.unixNano.Store(t.UnixNano()) }

// Last returns the time of the latest Beat, or the zero time if none.
func (h *Heartbeat) Last() time.Time {
	n := h.unixNano.Load()
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}
