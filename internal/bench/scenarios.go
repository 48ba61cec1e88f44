package bench

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/broadcaster/broadcaster/sender/sendertest"
)

// The settings, unless a scenario says otherwise: one account, no
// pacing, concurrency 64.
const (
	concurrency = 64
	// Throughput and CPU targets, relative to the bare loop.
	minShareOfBare   = 0.6
	maxCPUTimesBare  = 2.0
	maxWALPerSend    = 1200
	maxBytesPerRcpt  = 600
	minFirstToSteady = 0.5
	// Fan-out of a million list recipients, and the memory that sending
	// them may take.
	fanoutMillion = 5 * time.Second
	maxPeakRSS    = 64 << 20
	// Fairness: accounts × sends, paced at perSecond each, burst 1.
	fairSends      = 20
	fairPerSecond  = 2.0
	fairShare      = 0.9
	fairMinSpacing = 490 * time.Millisecond
	// Latency-bound: the API answers after apiLatency; with latencyWorkers
	// in flight the ceiling is latencyWorkers / apiLatency.
	apiLatency     = 200 * time.Millisecond
	latencyWorkers = 256
	latencyShare   = 0.9
)

// scenario is one experiment; it returns rows, or an error when it could
// not measure.
type scenario struct {
	name string
	run  func(ctx context.Context, r *Rig) ([]Row, error)
}

// scenarios lists the experiments in the table's order.
func scenarios() []scenario {
	return []scenario{
		{"throughput", throughput},
		{"slowstart", slowStart},
		{"fanout", fanOut},
		{"fairness", fairness},
		{"latency", latencyBound},
		{"instances", instances},
	}
}

// Names lists the scenarios, for BENCH_RUN.
func Names() []string {
	var out []string
	for _, s := range scenarios() {
		out = append(out, s.name)
	}
	return out
}

// Run runs every scenario opts selects and returns the table's rows, one
// "error" row for a scenario that failed, and how many failed.
func Run(ctx context.Context, opts Options) ([]Row, int, error) {
	r, err := NewRig(ctx, opts)
	if err != nil {
		return nil, 0, err
	}
	defer r.Close()
	var rows []Row
	failed := 0
	for _, sc := range scenarios() {
		if opts.Only != nil && !opts.Only.MatchString(sc.name) {
			continue
		}
		if opts.Progress != nil {
			fmt.Fprintf(opts.Progress, "bench: %s…\n", sc.name)
		}
		started := time.Now()
		got, err := sc.run(ctx, r)
		if err != nil {
			failed++
			first, _, _ := strings.Cut(err.Error(), "\n")
			got = append(got, Row{Scenario: sc.name, Figure: "error: " + first, Target: holdsNone, Holds: holdsError})
			if opts.Progress != nil {
				fmt.Fprintf(opts.Progress, "bench: %s: %v\n", sc.name, err)
			}
		}
		if opts.Progress != nil {
			fmt.Fprintf(opts.Progress, "bench: %s took %s\n", sc.name, time.Since(started).Round(100*time.Millisecond))
		}
		rows = append(rows, got...)
		if ctx.Err() != nil {
			return rows, failed, ctx.Err()
		}
	}
	return rows, failed, nil
}

// inWorld runs fn in a fresh world, under a timeout sized for n deliveries.
func inWorld(ctx context.Context, r *Rig, n int, latency time.Duration, fn func(context.Context, *world) ([]Row, error)) ([]Row, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout(n))
	defer cancel()
	w, err := r.newWorld(ctx, latency)
	if err != nil {
		return nil, err
	}
	defer w.close()
	return fn(ctx, w)
}

// throughput measures the bare loop, broadcaster and, when Options.River
// is set, River against the same fake API, n requests each (issue 11,
// targets 1 and 2).
func throughput(ctx context.Context, r *Rig) ([]Row, error) {
	n := r.opts.scaled(30_000, 1_000)
	loops := 2
	if r.opts.River != "" {
		loops = 3
	}
	return inWorld(ctx, r, loops*n, 0, func(ctx context.Context, w *world) ([]Row, error) {
		if err := w.seedInline(ctx, 1, n); err != nil {
			return nil, err
		}
		bare, err := w.bareLoop(ctx, n, concurrency)
		if err != nil {
			return nil, fmt.Errorf("bare loop: %w", err)
		}
		bareName := fmt.Sprintf("bare HTTP loop: %d goroutines, %s POSTs, no database", concurrency, count(int64(n)))
		rows := []Row{
			info(bareName, fmt.Sprintf("%s; CPU %s per request (fake API's excluded)", rateOf(bare.rate()), micros(per(bare.clientCPU, bare.n)))),
		}
		s, err := w.send(ctx, runSpec{instances: 1, concurrency: concurrency, expect: n})
		if err != nil {
			return rows, err
		}
		name := fmt.Sprintf("run --once: %s recipients, 1 account, no pacing, c=%d", count(int64(n)), concurrency)
		share := s.rate() / bare.rate()
		cpuTimes := float64(s.cpuPer()) / float64(per(bare.clientCPU, bare.n))
		walPer, bytesPer := s.wal/int64(n), s.bytes/int64(n)
		rows = append(rows,
			Row{name, fmt.Sprintf("%s = %s of bare", rateOf(s.rate()), ratio(share)),
				fmt.Sprintf("≥ %s of bare", ratio(minShareOfBare)), verdict(share >= minShareOfBare)},
			Row{name, fmt.Sprintf("CPU %s per delivery (broadcaster %s + PostgreSQL %s) = %s× bare",
				micros(s.cpuPer()), micros(per(s.clientCPU, n)), micros(per(s.pgCPU, n)), ratio(cpuTimes)),
				fmt.Sprintf("≤ %s× bare", ratio(maxCPUTimesBare)), verdict(cpuTimes <= maxCPUTimesBare)},
			Row{name, count(walPer) + " B of WAL per delivery", "≤ " + count(maxWALPerSend) + " B", verdict(walPer <= maxWALPerSend)},
			Row{name, count(bytesPer) + " B of table and index per recipient", "≤ " + count(maxBytesPerRcpt) + " B", verdict(bytesPer <= maxBytesPerRcpt)},
			info(name, fmt.Sprintf("peak RSS %s; fake API CPU %s per delivery (excluded); took %s",
				mib(s.maxRSS), micros(per(s.apiCPU, n)), seconds(s.wall))),
		)
		if r.opts.River == "" {
			return rows, nil
		}
		rv, err := w.riverLoop(ctx, n, concurrency)
		if err != nil {
			return rows, fmt.Errorf("river: %w", err)
		}
		return append(rows, info(
			fmt.Sprintf("River, for comparison: one job per recipient, %s jobs, %d workers, FetchCooldown 1 ms", count(int64(n)), concurrency),
			fmt.Sprintf("%s = %s of bare; CPU %s per job (River %s + PostgreSQL %s) = %s× bare; %s B of WAL and %s B of table and index per job",
				rateOf(rv.rate()), ratio(rv.rate()/bare.rate()), micros(rv.cpuPer()), micros(per(rv.clientCPU, n)),
				micros(per(rv.pgCPU, n)), ratio(float64(rv.cpuPer())/float64(per(bare.clientCPU, bare.n))),
				count(rv.wal/int64(n)), count(rv.bytes/int64(n))))), nil
	})
}

// slowStart compares the first 10% of a run, from the process's start (so
// fan-out included), with the rest (target 3).
func slowStart(ctx context.Context, r *Rig) ([]Row, error) {
	n := r.opts.scaled(100_000, 1_000)
	return inWorld(ctx, r, n, 0, func(ctx context.Context, w *world) ([]Row, error) {
		if err := w.seedInline(ctx, 1, n); err != nil {
			return nil, err
		}
		s, err := w.send(ctx, runSpec{instances: 1, concurrency: concurrency, expect: n})
		if err != nil {
			return nil, err
		}
		k := n / 10
		tenth := s.arrivals[k-1].At
		first := perSecond(k, tenth.Sub(s.started))
		rest := perSecond(n-k, s.arrivals[n-1].At.Sub(tenth))
		name := fmt.Sprintf("slow start: first 10%% of %s recipients (from process start) vs the rest, c=%d", count(int64(n)), concurrency)
		return []Row{{name, fmt.Sprintf("first %s, rest %s: %s", rateOf(first), rateOf(rest), ratio(first/rest)),
			fmt.Sprintf("≥ %s", ratio(minFirstToSteady)), verdict(first >= minFirstToSteady*rest)}}, nil
	})
}

// fanOut sends a campaign to one list of n members (target 4): the time
// from the start of the transaction that creates the run to broadcaster's
// "run created" line, and the process's peak RSS while it sends them all.
func fanOut(ctx context.Context, r *Rig) ([]Row, error) {
	n := r.opts.scaled(1_000_000, 1_000)
	return inWorld(ctx, r, n, 0, func(ctx context.Context, w *world) ([]Row, error) {
		if err := w.seedList(ctx, n); err != nil {
			return nil, err
		}
		s, err := w.send(ctx, runSpec{instances: 1, concurrency: concurrency, expect: n})
		if err != nil {
			return nil, err
		}
		began, err := w.runCreatedAt(ctx)
		if err != nil {
			return nil, err
		}
		if len(s.runs) != 1 {
			return nil, fmt.Errorf("%d \"run created\" log lines, want 1", len(s.runs))
		}
		took := s.runs[0].Sub(began)
		bound := time.Duration(float64(fanoutMillion) * float64(n) / 1e6)
		name := fmt.Sprintf("fan-out: %s list recipients, c=%d", count(int64(n)), concurrency)
		return []Row{
			{name, "fan-out " + seconds(took), "≤ " + seconds(bound), verdict(took <= bound)},
			{name, fmt.Sprintf("peak RSS %s while sending them (%s)", mib(s.maxRSS), rateOf(s.rate())), "≤ " + mib(maxPeakRSS), verdict(s.maxRSS <= maxPeakRSS)},
		}, nil
	})
}

// fairness paces many accounts at 2/s each (target 5): the whole against
// the ideal time, each account's finish, and sends of one account closer
// than the pace allows (issue 6, item 3).
func fairness(ctx context.Context, r *Rig) ([]Row, error) {
	accounts := r.opts.scaled(1_000, 10)
	n := accounts * fairSends
	return inWorld(ctx, r, n, 0, func(ctx context.Context, w *world) ([]Row, error) {
		if err := w.seedInline(ctx, accounts, fairSends); err != nil {
			return nil, err
		}
		s, err := w.send(ctx, runSpec{instances: 1, concurrency: concurrency, expect: n, env: map[string]string{
			"BROADCASTER_RATE_LIMIT_PER_ACCOUNT": strconv.FormatFloat(fairPerSecond, 'f', -1, 64),
			"BROADCASTER_RATE_LIMIT_BURST":       "1",
		}})
		if err != nil {
			return nil, err
		}
		f, err := fairnessOf(s.arrivals, accounts)
		if err != nil {
			return nil, err
		}
		ideal := time.Duration(float64(fairSends-1) / fairPerSecond * float64(time.Second))
		share := ideal.Seconds() / s.span().Seconds()
		bound := time.Duration(float64(ideal) / fairShare)
		name := fmt.Sprintf("fairness: %s accounts × %d, %g/s each (burst 1, no jitter), c=%d", count(int64(accounts)), fairSends, fairPerSecond, concurrency)
		return []Row{
			{name, fmt.Sprintf("took %s against the ideal %s: %s of the ideal rate", seconds(s.span()), seconds(ideal), percent(share)),
				"≥ " + percent(fairShare), verdict(share >= fairShare)},
			{name, fmt.Sprintf("accounts finished at p50 %s, max %s", seconds(f.p50), seconds(f.max)),
				"max ≤ " + seconds(bound) + " (none starved)", verdict(f.max <= bound)},
			{name, fmt.Sprintf("%d pairs of one account's sends < %d ms apart", f.close, fairMinSpacing.Milliseconds()), "0", verdict(f.close == 0)},
			info(name, fmt.Sprintf("CPU per delivery: PostgreSQL %s, broadcaster %s; %s B of WAL per delivery",
				micros(per(s.pgCPU, n)), micros(per(s.clientCPU, n)), count(s.wal/int64(n)))),
		}, nil
	})
}

// fairStats is how evenly the accounts were served.
type fairStats struct {
	p50, max time.Duration // accounts' finish, from the first send of all
	close    int           // consecutive sends of one account < fairMinSpacing apart
}

// fairnessOf reads the arrivals of a fairness run.
func fairnessOf(arrivals []sendertest.Arrival, accounts int) (fairStats, error) {
	var f fairStats
	if len(arrivals) == 0 {
		return f, errors.New("no arrivals")
	}
	start := arrivals[0].At
	last := map[string]time.Time{}
	sends := map[string]int{}
	for _, a := range arrivals {
		if prev, ok := last[a.WID]; ok && a.At.Sub(prev) < fairMinSpacing {
			f.close++
		}
		last[a.WID] = a.At
		sends[a.WID]++
	}
	if len(sends) != accounts {
		return f, fmt.Errorf("%d accounts sent, want %d", len(sends), accounts)
	}
	var finish []time.Duration
	for wid, t := range last {
		if sends[wid] != fairSends {
			return f, fmt.Errorf("account %s sent %d, want %d", wid, sends[wid], fairSends)
		}
		finish = append(finish, t.Sub(start))
	}
	slices.Sort(finish)
	f.p50, f.max = finish[(len(finish)-1)/2], finish[len(finish)-1]
	return f, nil
}

// latencyBound sends with an API that takes 200 ms to answer and 256
// workers (target 6): the ceiling is 256 / 0.2 s = 1,280/s.
func latencyBound(ctx context.Context, r *Rig) ([]Row, error) {
	n := r.opts.scaled(25_600, 1_000)
	return inWorld(ctx, r, n, apiLatency, func(ctx context.Context, w *world) ([]Row, error) {
		if err := w.seedInline(ctx, 1, n); err != nil {
			return nil, err
		}
		s, err := w.send(ctx, runSpec{instances: 1, concurrency: latencyWorkers, expect: n})
		if err != nil {
			return nil, err
		}
		ceiling := float64(latencyWorkers) / apiLatency.Seconds()
		share := s.rate() / ceiling
		name := fmt.Sprintf("latency-bound: API answers in %d ms, c=%d, %s recipients", apiLatency.Milliseconds(), latencyWorkers, count(int64(n)))
		return []Row{{name, fmt.Sprintf("%s = %s of %s", rateOf(s.rate()), percent(share), rateOf(ceiling)),
			"≥ " + percent(latencyShare), verdict(share >= latencyShare)}}, nil
	})
}

// instances runs 1, 2 and 3 instances on one database (target 7): total
// rate and what PostgreSQL spent.
func instances(ctx context.Context, r *Rig) ([]Row, error) {
	n := r.opts.scaled(30_000, 1_000)
	var rows []Row
	for k := 1; k <= 3; k++ {
		got, err := inWorld(ctx, r, n, 0, func(ctx context.Context, w *world) ([]Row, error) {
			if err := w.seedInline(ctx, 1, n); err != nil {
				return nil, err
			}
			s, err := w.send(ctx, runSpec{instances: k, concurrency: concurrency, expect: n})
			if err != nil {
				return nil, err
			}
			name := fmt.Sprintf("%d instance(s) on one database: %s recipients, c=%d each", k, count(int64(n)), concurrency)
			return []Row{info(name, fmt.Sprintf("%s in total; PostgreSQL CPU %s per delivery (%s cores busy over the %s from start to exit); broadcaster CPU %s per delivery",
				rateOf(s.rate()), micros(per(s.pgCPU, n)), ratio(s.pgCPU.Seconds()/s.wall.Seconds()), seconds(s.wall), micros(per(s.clientCPU, n))))}, nil
		})
		rows = append(rows, got...)
		if err != nil {
			return rows, fmt.Errorf("%d instances: %w", k, err)
		}
	}
	return rows, nil
}
