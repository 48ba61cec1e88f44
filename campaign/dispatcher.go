package campaign

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"github.com/sourcegraph/conc"
	"github.com/sourcegraph/conc/panics"
	"github.com/sourcegraph/conc/pool"
)

// DispatchConfig tunes the dispatcher. Zero values get the defaults noted.
type DispatchConfig struct {
	Concurrency  int            // sendApplet requests in flight at most (16)
	Retry        RetryPolicy    // what each attempt leads to
	Pacing       Pacing         // per-account limits and circuit breaker
	Lease        time.Duration  // a claim's lifetime: api.timeout + 10s (25s)
	PollInterval time.Duration  // look for due work at least this often (5s)
	Location     *time.Location // time zone of {{date}} (Local)
	FlushSize    int            // results per database write (64)
	FlushEvery   time.Duration  // longest a result waits to be written (100ms)
	StopTimeout  time.Duration  // how long to keep trying to record at stop (30s)
	ReapEvery    time.Duration  // how often to recover expired leases (2s)
	// GiveUpAfter ends Drain when the database has failed for this long
	// without a break (2m): a batch job exits 1 and cron runs it again,
	// rather than hanging. The daemon (Run) keeps trying.
	GiveUpAfter time.Duration
	// Journal keeps results on local disk until the database has them, so
	// a crash during a database outage loses none (nil: off).
	Journal Journal
}

func (c DispatchConfig) withDefaults() DispatchConfig {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 16
	}
	if c.FlushSize <= 0 {
		c.FlushSize = 64
	}
	if c.Location == nil {
		c.Location = time.Local
	}
	if c.Retry.MaxAttempts <= 0 {
		c.Retry.MaxAttempts = 1
	}
	def(&c.Lease, 25*time.Second)
	def(&c.PollInterval, 5*time.Second)
	def(&c.FlushEvery, 100*time.Millisecond)
	def(&c.StopTimeout, 30*time.Second)
	def(&c.ReapEvery, 2*time.Second)
	def(&c.GiveUpAfter, 2*time.Minute)
	return c
}

// Dispatcher claims due deliveries from the store and sends them through a
// bounded worker pool. It claims only as many deliveries as it has idle
// workers, so a claimed delivery is sent at once and never waits out its
// lease in a local queue; every retry goes back through the database, so any
// instance may take it and a crash loses nothing.
type Dispatcher struct {
	store     DeliveryStore
	sender    Sender
	cfg       DispatchConfig
	log       zerolog.Logger
	templates templateCache

	inflight atomic.Int64
	failing  unrecorded    // accounts with failed attempts not yet recorded
	freed    chan struct{} // a worker finished
	wake     chan struct{} // new work may be due
}

// NewDispatcher returns a dispatcher sending store's deliveries with sender.
func NewDispatcher(store DeliveryStore, sender Sender, cfg DispatchConfig, log zerolog.Logger) *Dispatcher {
	return &Dispatcher{
		store:     store,
		sender:    sender,
		cfg:       cfg.withDefaults(),
		log:       log,
		templates: templateCache{store: store, runs: map[int64]*Prepared{}},
		freed:     make(chan struct{}, 1),
		wake:      make(chan struct{}, 1),
	}
}

// Wake tells the dispatcher that work may be due now (a run was created, a
// campaign resumed), so it does not wait for its next poll.
func (d *Dispatcher) Wake() { signal(d.wake) }

// Run sends until ctx ends, then stops claiming, lets in-flight requests
// finish and records them before it returns: the daemon's graceful stop.
func (d *Dispatcher) Run(ctx context.Context) error { return d.run(ctx, false) }

// Drain sends until no delivery of an active campaign is pending or sending,
// waiting out backoff, or until ctx ends: the batch job.
func (d *Dispatcher) Drain(ctx context.Context) error { return d.run(ctx, true) }

func (d *Dispatcher) run(ctx context.Context, untilDone bool) error {
	rec := newRecorder(d.store, d.cfg, d.log, d.runsCompleted, d.failing.recorded)
	var bg conc.WaitGroup
	bg.Go(rec.run)
	workers := pool.New().WithMaxGoroutines(d.cfg.Concurrency)
	err := d.loop(ctx, untilDone, workers, rec)
	workers.Wait()
	rec.close()
	bg.Wait()
	if n := rec.lost(); n > 0 && err == nil {
		err = fmt.Errorf("%w: %d results", ErrResultsNotRecorded, n)
	}
	return err
}

// ErrDatabaseUnavailable ends a batch whose database stayed unreachable.
var ErrDatabaseUnavailable = errors.New("database unavailable")

// ErrResultsNotRecorded reports that the dispatcher stopped before the
// database took every result: those deliveries stay `sending` until another
// process reaps them, so the exit must not look clean.
var ErrResultsNotRecorded = errors.New("stopped with results not recorded (database unavailable)")

// loop claims and starts deliveries until ctx ends or, when untilDone,
// nothing is left.
func (d *Dispatcher) loop(ctx context.Context, untilDone bool, workers *pool.Pool, rec *recorder) error {
	var lastReap, failingSince time.Time
	failed := func(err error, what string) error {
		if ctx.Err() != nil {
			return nil // stopping: the loop ends on its own
		}
		if failingSince.IsZero() {
			failingSince = time.Now()
		}
		d.log.Warn().Err(err).Msg(what + "; trying again")
		if untilDone && time.Since(failingSince) >= d.cfg.GiveUpAfter {
			return fmt.Errorf("%w for %v: %v", ErrDatabaseUnavailable, d.cfg.GiveUpAfter, err)
		}
		return nil
	}
	for ctx.Err() == nil {
		if time.Since(lastReap) >= d.cfg.ReapEvery {
			d.reap(ctx)
			lastReap = time.Now()
		}
		free := d.cfg.Concurrency - int(d.inflight.Load())
		if free > 0 {
			claimed, err := d.store.Claim(ctx, ClaimParams{
				Limit: free, Lease: d.cfg.Lease, Pacing: d.cfg.Pacing, Exclude: d.failing.accounts(),
			})
			if err != nil {
				if err := failed(err, "claim failed"); err != nil {
					return err
				}
				d.pause(ctx, time.Second)
				continue
			}
			for _, dl := range claimed {
				d.start(ctx, workers, rec, dl)
			}
			if len(claimed) == free {
				continue // more may be due right now
			}
		}
		done, next, err := d.idle(ctx, rec, d.inflight.Load() == 0)
		if err != nil {
			if err := failed(err, "could not check what is left to send"); err != nil {
				return err
			}
			next = time.Second
		} else {
			failingSince = time.Time{}
		}
		if done && untilDone {
			d.reap(ctx) // a last sweep completes runs whose last results raced
			return nil
		}
		// Never sleep past a reap: a dead process's claims are recovered on
		// time even when nothing else wakes this loop.
		d.pause(ctx, min(d.cfg.PollInterval, next, d.cfg.ReapEvery))
	}
	return nil
}

// idle is called when nothing more can be claimed now. It asks the store
// what is left and when the next delivery may go (backoff, pacing), so the
// loop sleeps until then. When no worker is busy (quiet) it first makes sure
// every result is recorded, so that "nothing left" can be trusted.
func (d *Dispatcher) idle(ctx context.Context, rec *recorder, quiet bool) (done bool, next time.Duration, err error) {
	if quiet {
		if err := rec.flush(ctx); err != nil {
			return false, 0, err
		}
	}
	o, err := d.store.Outstanding(ctx, d.cfg.Pacing)
	if err != nil {
		return false, 0, err
	}
	next = max(o.NextDue, minWait)
	if o.Pending == 0 && o.Sending > 0 {
		// Claimed elsewhere: another instance is sending, or a dead one's
		// lease must run out before it is reaped.
		next = d.cfg.ReapEvery
	}
	return quiet && o.Done(), next, nil
}

// minWait keeps the loop from spinning on work another instance holds.
const minWait = 20 * time.Millisecond

// pause waits for d, a finished worker, a wake-up or the end of ctx.
func (d *Dispatcher) pause(ctx context.Context, wait time.Duration) {
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-d.freed:
	case <-d.wake:
	case <-t.C:
	}
}

func (d *Dispatcher) reap(ctx context.Context) {
	n, err := d.store.Reap(ctx, ReapParams{
		RetryAmbiguous: d.cfg.Retry.Ambiguous,
		MaxAttempts:    d.cfg.Retry.MaxAttempts,
		Delay:          d.cfg.Lease,
	})
	if err != nil {
		if ctx.Err() == nil {
			d.log.Warn().Err(err).Msg("could not reap expired leases")
		}
		return
	}
	if n > 0 {
		d.log.Warn().Int("deliveries", n).Bool("retry", d.cfg.Retry.Ambiguous).
			Msg("reaped deliveries left sending by a process that stopped")
	}
}

// start sends one claimed delivery on the pool. The send is detached from
// ctx: a request already started finishes (bounded by the sender's timeout)
// and is recorded, even when the process is stopping.
func (d *Dispatcher) start(ctx context.Context, workers *pool.Pool, rec *recorder, dl Delivery) {
	d.inflight.Add(1)
	sendCtx := context.WithoutCancel(ctx)
	workers.Go(func() {
		defer func() {
			d.inflight.Add(-1)
			signal(d.freed)
		}()
		res := d.attempt(sendCtx, dl)
		if d.cfg.Pacing.BreakerFailures > 0 && res.Attempt.Outcome != OutcomeSent {
			d.failing.add(dl.WID)
		}
		rec.add(res)
	})
}

// attempt sends dl and decides its fate. A panic fails that delivery, never
// the process.
func (d *Dispatcher) attempt(ctx context.Context, dl Delivery) (res Result) {
	started := time.Now()
	var pc panics.Catcher
	pc.Try(func() { res = d.send(ctx, dl) })
	if r := pc.Recovered(); r != nil {
		d.log.Error().Int64("delivery_id", dl.ID).Str("panic", fmt.Sprint(r.Value)).
			Str("stack", string(r.Stack)).Msg("panic while sending; delivery failed")
		msg := fmt.Sprintf("internal error: %v", r.Value)
		res = Result{Delivery: dl, Status: DeliveryFailed, Error: msg,
			Attempt: Attempt{Outcome: OutcomeFailed, StartedAt: started, Duration: time.Since(started), Error: msg}}
	}
	return res
}

func (d *Dispatcher) send(ctx context.Context, dl Delivery) Result {
	p, err := d.templates.get(ctx, dl)
	if err != nil {
		return d.unsendable(dl, err)
	}
	img, content := p.Render(Values{
		WcID:       dl.WcID,
		CampaignID: dl.CampaignID,
		RunID:      dl.RunID,
		DeliveryID: dl.ID,
		Date:       dl.ScheduledFor.In(d.cfg.Location).Format(time.DateOnly),
	})
	a := d.sender.Send(ctx, Message{WID: dl.WID, WcID: dl.WcID, ImgURL: img, Content: content})
	return d.cfg.Retry.Decide(dl, a)
}

// unsendable is the result of a delivery whose template could not be had: a
// broken template fails it, a database hiccup retries it later.
func (d *Dispatcher) unsendable(dl Delivery, err error) Result {
	a := Attempt{Outcome: OutcomeRetry, StartedAt: time.Now(), Error: err.Error()}
	if IsInvalid(err) {
		a.Outcome = OutcomeFailed
	}
	return d.cfg.Retry.Decide(dl, a)
}

func (d *Dispatcher) runsCompleted(runs []int64) {
	for _, id := range runs {
		d.templates.forget(id)
		d.log.Debug().Int64("run_id", id).Msg("run completed")
	}
}

// maxCachedRuns bounds the template cache of a long-running daemon.
const maxCachedRuns = 1024

// templateCache holds each run's prepared template, so a template is parsed
// once per run rather than once per delivery.
type templateCache struct {
	store DeliveryStore
	mu    sync.Mutex
	runs  map[int64]*Prepared
}

// templateTimeout bounds a template lookup: a worker waiting on a stalled
// database must not outlive its claim.
const templateTimeout = 5 * time.Second

func (c *templateCache) get(ctx context.Context, dl Delivery) (*Prepared, error) {
	if p := c.cached(dl.RunID); p != nil {
		return p, nil
	}
	// Loaded without the lock: workers of other runs never wait on it, and
	// two workers loading the same run's template at once is harmless.
	ctx, cancel := context.WithTimeout(ctx, templateTimeout)
	defer cancel()
	t, err := c.store.Template(ctx, dl.CampaignID)
	if errors.Is(err, ErrNotFound) {
		return nil, invalid("campaign %d has no template", dl.CampaignID)
	}
	if err != nil {
		return nil, err
	}
	p, err := Prepare(t)
	if err != nil {
		return nil, invalid("template %q: %v", t.Name, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.runs) >= maxCachedRuns {
		clear(c.runs) // runs completed by other instances are never forgotten one by one
	}
	c.runs[dl.RunID] = p
	return p, nil
}

func (c *templateCache) cached(runID int64) *Prepared {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.runs[runID]
}

func (c *templateCache) forget(runID int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.runs, runID)
}

// unrecorded counts, per account, failed attempts whose results are not in
// the database yet, where the circuit breaker cannot see them.
type unrecorded struct {
	mu sync.Mutex
	n  map[string]int
}

func (u *unrecorded) add(wID string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.n == nil {
		u.n = map[string]int{}
	}
	u.n[wID]++
}

// recorded is told of every batch the recorder wrote.
func (u *unrecorded) recorded(rs []Result) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, r := range rs {
		w := r.Delivery.WID
		if r.Attempt.Outcome == OutcomeSent || u.n[w] == 0 {
			continue
		}
		if u.n[w]--; u.n[w] == 0 {
			delete(u.n, w)
		}
	}
}

func (u *unrecorded) accounts() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	out := make([]string, 0, len(u.n))
	for w := range u.n {
		out = append(out, w)
	}
	return out
}

// signal wakes a waiter on ch without ever blocking.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}
