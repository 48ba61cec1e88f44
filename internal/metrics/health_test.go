package metrics_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/broadcaster/broadcaster/internal/metrics"
)

func TestHealthCheck(t *testing.T) {
	t.Parallel()
	const maxAge = 15 * time.Second
	errDown := errors.New("dial tcp 127.0.0.1:5432: connect: connection refused")
	tests := []struct {
		name     string
		ping     error
		sinceNew time.Duration // how long after NewHealth the check runs
		tickAgo  time.Duration // how long before the check the last tick was; <0: never
		want     error
		reason   string
	}{
		{name: "fresh tick", tickAgo: time.Second},
		{name: "tick just within limit", sinceNew: time.Hour, tickAgo: maxAge},
		{name: "no tick yet, starting up", sinceNew: 10 * time.Second, tickAgo: -1},
		{name: "no tick since start", sinceNew: 16 * time.Second, tickAgo: -1,
			want: metrics.ErrSchedulerStale, reason: "scheduler stalled: no successful tick in 16s since start (limit 15s)"},
		{name: "stale tick", sinceNew: time.Hour, tickAgo: 45 * time.Second,
			want: metrics.ErrSchedulerStale, reason: "scheduler stalled: last successful tick 45s ago (limit 15s)"},
		{name: "database down", ping: errDown, tickAgo: time.Second,
			want: metrics.ErrDatabaseUnreachable, reason: "database unreachable: dial tcp"},
		{name: "database down wins over a stale tick", ping: errDown, sinceNew: time.Hour, tickAgo: time.Hour,
			want: metrics.ErrDatabaseUnreachable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := newFakeClock()
			var hb metrics.Heartbeat
			pinged := false
			h := metrics.NewHealth(func(ctx context.Context) error {
				pinged = true
				return tt.ping
			}, hb.Last, maxAge, clock)
			clock.Add(tt.sinceNew)
			if tt.tickAgo >= 0 {
				hb.Beat(clock.Now().Add(-tt.tickAgo))
			}
			err := h.Check(context.Background())
			if !pinged {
				t.Error("the database was not pinged")
			}
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("Check = %v, want %v", err, tt.want)
			}
			if err != nil && !strings.HasPrefix(err.Error(), tt.reason) {
				t.Errorf("Check = %q, want it to start with %q", err, tt.reason)
			}
			if tt.ping != nil && !errors.Is(err, tt.ping) {
				t.Errorf("Check = %v does not wrap the ping's error", err)
			}
		})
	}
}

func TestHealthChecksLeftOut(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	h := metrics.NewHealth(nil, nil, time.Second, clock)
	clock.Add(time.Hour)
	if err := h.Check(context.Background()); err != nil {
		t.Errorf("Check with no ping and no tick source = %v, want nil", err)
	}
	var hb metrics.Heartbeat
	h = metrics.NewHealth(nil, hb.Last, 0, clock)
	clock.Add(time.Hour)
	if err := h.Check(context.Background()); err != nil {
		t.Errorf("Check with maxAge 0 = %v, want nil", err)
	}
}

func TestHeartbeat(t *testing.T) {
	t.Parallel()
	var hb metrics.Heartbeat
	if got := hb.Last(); !got.IsZero() {
		t.Errorf("Last before any Beat = %v, want zero", got)
	}
	at := time.Date(2025, 3, 1, 10, 0, 0, 123, time.UTC)
	hb.Beat(at)
	if got := hb.Last(); !got.Equal(at) {
		t.Errorf("Last = %v, want %v", got, at)
	}
}
