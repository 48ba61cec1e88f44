package metrics_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/broadcaster/broadcaster/campaign/campaigntest"
	"github.com/broadcaster/broadcaster/internal/metrics"
)

func TestSchedulerCheck(t *testing.T) {
	t.Parallel()
	const maxAge = 15 * time.Second
	tests := []struct {
		name     string
		sinceNew time.Duration // how long after SchedulerCheck the check runs
		tickAgo  time.Duration // how long before the check the last tick was; <0: never
		reason   string        // "" when it passes
	}{
		{name: "fresh tick", tickAgo: time.Second},
		{name: "tick just within limit", sinceNew: time.Hour, tickAgo: maxAge},
		{name: "no tick yet, starting up", sinceNew: 10 * time.Second, tickAgo: -1},
		{name: "no tick since start", sinceNew: 16 * time.Second, tickAgo: -1,
			reason: "scheduler stalled: no successful tick in 16s since start (limit 15s)"},
		{name: "stale tick", sinceNew: time.Hour, tickAgo: 45 * time.Second,
			reason: "scheduler stalled: last successful tick 45s ago (limit 15s)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := campaigntest.NewClock(metricsT0)
			var last time.Time
			c := metrics.SchedulerCheck(func() time.Time { return last }, maxAge, clock)
			clock.Advance(tt.sinceNew)
			if tt.tickAgo >= 0 {
				last = clock.Now().Add(-tt.tickAgo)
			}
			err := c.Err(context.Background())
			if c.Name != "scheduler" {
				t.Errorf("Name = %q, want scheduler", c.Name)
			}
			if tt.reason == "" {
				if err != nil {
					t.Errorf("Err = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, metrics.ErrSchedulerStale) || err.Error() != tt.reason {
				t.Errorf("Err = %v, want %q wrapping ErrSchedulerStale", err, tt.reason)
			}
		})
	}
}

// A failed ping says "database unreachable", and keeps the driver's error,
// which names the user, database, host and port, as the cause for the log.
func TestDatabaseCheckKeepsConnectionDetailsOutOfItsMessage(t *testing.T) {
	t.Parallel()
	cause := refusedConnectError(t)
	c := metrics.DatabaseCheck(func(context.Context) error { return cause })
	err := c.Err(context.Background())
	if c.Name != "database" || err == nil || err.Error() != "database unreachable" {
		t.Fatalf("check %q = %v, want database: database unreachable", c.Name, err)
	}
	if !errors.Is(err, metrics.ErrDatabaseUnreachable) || !errors.Is(err, cause) {
		t.Errorf("Err = %v wraps neither ErrDatabaseUnreachable nor the ping's error", err)
	}
	if err := metrics.DatabaseCheck(func(context.Context) error { return nil }).Err(context.Background()); err != nil {
		t.Errorf("Err with a ping that succeeds = %v", err)
	}
}

// refusedConnectError is pgx's real error for a database that refuses
// connections: it names the user, the database, the host and the port.
func refusedConnectError(t *testing.T) error {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close() // nobody listens there now: connections are refused
	_, err = pgx.Connect(context.Background(),
		fmt.Sprintf("postgres://secret_user@127.0.0.1:%d/secret_db?sslmode=disable&connect_timeout=5", port))
	if err == nil {
		t.Fatal("connected to a closed port")
	}
	for _, detail := range []string{"secret_user", "secret_db", "127.0.0.1", strconv.Itoa(port)} {
		if !strings.Contains(err.Error(), detail) {
			t.Fatalf("pgx's error %q lacks %q: the test needs a new leaking error", err, detail)
		}
	}
	return err
}
