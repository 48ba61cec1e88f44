package main

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/broadcaster/broadcaster/internal/chaos"
)

// Issue 8 item 1, end to end: the real binary, a PostgreSQL server of the
// test's own that the test stops and starts (internal/chaos), and the fake
// API's record of every send it confirmed. Without a journal, at most
// workers.concurrency confirmed sends may end not `sent`; with one, none.

// PostgreSQL stops mid-run and starts again; the daemon sends a little more
// and is killed (SIGKILL) before it has written everything it holds; a new
// run finishes the campaign.
func TestPostgresDownThenKillLosesAtMostConcurrency(t *testing.T) {
	t.Parallel()
	for _, journal := range []bool{false, true} {
		t.Run(map[bool]string{false: "journal off", true: "journal on"}[journal], func(t *testing.T) {
			t.Parallel()
			faultTest(t, chaos.Options{Journal: journal}, chaos.PostgresDownThenKill)
		})
	}
}

// The daemon's role may claim deliveries but not insert their attempts; it
// is stopped with SIGTERM, the right is granted back, and a new run
// finishes the campaign.
func TestRoleThatCannotWriteLosesAtMostConcurrency(t *testing.T) {
	t.Parallel()
	for _, journal := range []bool{false, true} {
		t.Run(map[bool]string{false: "journal off", true: "journal on"}[journal], func(t *testing.T) {
			t.Parallel()
			faultTest(t, chaos.Options{Journal: journal}, chaos.RoleCannotWrite)
		})
	}
}

// faultTest runs fault with the test binary and holds its tally to the
// bound; the processes' logs are shown when it fails.
func faultTest(t *testing.T, opts chaos.Options, fault chaos.Fault) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	logs := &syncBuffer{}
	opts.Binary, opts.Logs = binaryPath, logs
	opts.Recipients, opts.Concurrency = 300, 4
	tally, err := chaos.Run(ctx, opts, fault)
	if err == nil {
		err = tally.Check(chaos.Bound(opts))
	}
	t.Logf("%+v", tally)
	if err != nil {
		t.Errorf("%v\nlogs (last lines):\n%s", err, logs.tail(60))
	}
}

// syncBuffer collects log lines from several processes at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) tail(n int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	lines := strings.Split(strings.TrimRight(b.buf.String(), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
