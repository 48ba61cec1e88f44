package bench

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/broadcaster/broadcaster/internal/child"
	"github.com/broadcaster/broadcaster/sender/sendertest"
)

// reapPause lets the postmaster reap the backends of the processes that
// just exited, so that their CPU is in its cutime when it is read.
const reapPause = 300 * time.Millisecond

// sample is what one measured run did and cost.
type sample struct {
	n         int       // deliveries sent
	started   time.Time // the first process started
	wall      time.Duration
	arrivals  []sendertest.Arrival
	clientCPU time.Duration // the processes measured: broadcaster or the bare loop
	pgCPU     time.Duration // the PostgreSQL server, every process of it
	apiCPU    time.Duration // the harness, that is the fake API
	wal       int64
	bytes     int64
	maxRSS    int64 // the largest of the processes'
	runs      []time.Time
}

// span is from the first request the API received to the last.
func (s sample) span() time.Duration {
	if len(s.arrivals) < 2 {
		return 0
	}
	return s.arrivals[len(s.arrivals)-1].At.Sub(s.arrivals[0].At)
}

// rate is deliveries per second over the span.
func (s sample) rate() float64 { return perSecond(s.n, s.span()) }

// cpuPer is the CPU of the client and PostgreSQL per delivery.
func (s sample) cpuPer() time.Duration { return per(s.clientCPU+s.pgCPU, s.n) }

func perSecond(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

func per(d time.Duration, n int) time.Duration {
	if n == 0 {
		return 0
	}
	return d / time.Duration(n)
}

// runSpec is a measured run of broadcaster.
type runSpec struct {
	instances   int
	concurrency int
	env         map[string]string // on top of world.env and the concurrency
	expect      int               // deliveries that must end sent
}

// send runs spec.instances × `broadcaster run --once` at once on the
// world's seeded database, and measures them.
func (w *world) send(ctx context.Context, spec runSpec) (sample, error) {
	env := map[string]string{"BROADCASTER_WORKERS_CONCURRENCY": strconv.Itoa(spec.concurrency)}
	for k, v := range spec.env {
		env[k] = v
	}
	return w.measure(ctx, spec.expect, true, func(ctx context.Context) ([]*child.Process, error) {
		var ps []*child.Process
		for range spec.instances {
			p, err := w.start(env, "run", "--once")
			if err != nil {
				return ps, err
			}
			ps = append(ps, p)
		}
		return ps, nil
	})
}

// measure quiesces the server, takes its counters, starts the processes,
// waits for them, takes the counters again and checks that expect
// deliveries reached the API (and, withDB, the database as sent).
func (w *world) measure(ctx context.Context, expect int, withDB bool, start func(context.Context) ([]*child.Process, error)) (sample, error) {
	var s sample
	if err := w.quiesce(ctx); err != nil {
		return s, fmt.Errorf("quiesce: %w", err)
	}
	before, err := w.counters(ctx)
	if err != nil {
		return s, err
	}
	pg0, err := treeCPU(w.rig.pg.PID())
	if err != nil {
		return s, err
	}
	sent0, arrived0 := w.api.Stats().Sent, len(w.api.Arrivals())
	self0 := selfCPU()
	ps, err := start(ctx)
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	if len(ps) > 0 {
		s.started = ps[0].Started()
	}
	for _, p := range ps {
		if err := p.Succeed(ctx); err != nil {
			errs = append(errs, err)
			continue
		}
		cpu, rss, err := p.Usage()
		errs = append(errs, err)
		s.clientCPU += cpu
		s.maxRSS = max(s.maxRSS, rss)
		s.runs = append(s.runs, p.Times("run created")...)
	}
	s.wall = time.Since(s.started)
	s.apiCPU = selfCPU() - self0
	if ctx.Err() != nil {
		return s, fmt.Errorf("stopped after %s with %d of %d sent: %w",
			s.wall.Round(time.Second), w.api.Stats().Sent-sent0, expect, ctx.Err())
	}
	time.Sleep(reapPause)
	pg1, err := treeCPU(w.rig.pg.PID())
	if err != nil {
		return s, err
	}
	s.pgCPU = pg1 - pg0
	after, err := w.counters(ctx)
	if err != nil {
		return s, err
	}
	s.wal, s.bytes = after.wal-before.wal, after.bytes-before.bytes
	s.arrivals = w.api.Arrivals()[arrived0:]
	s.n = w.api.Stats().Sent - sent0
	if err := errors.Join(errs...); err != nil {
		return s, err
	}
	if s.n != expect || len(s.arrivals) != expect {
		return s, fmt.Errorf("the API confirmed %d sends of %d requests, want %d", s.n, len(s.arrivals), expect)
	}
	if withDB {
		sent, err := w.countSent(ctx)
		if err != nil {
			return s, err
		}
		if sent != expect {
			return s, fmt.Errorf("%d deliveries recorded sent, want %d", sent, expect)
		}
	}
	return s, nil
}
