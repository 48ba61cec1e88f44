package campaign

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"github.com/sourcegraph/conc"
	"github.com/sourcegraph/conc/pool"
)

// Dispatcher defaults. DispatchConfig's zero fields fall back to them, and
// the configuration's defaults and the daemon's wiring are built from them,
// so that each is written down once.
const (
	// DefaultConcurrency is workers.concurrency's default (SPEC §8).
	DefaultConcurrency = 16
	// DefaultLease is a claim's lifetime when none is given (the daemon
	// gives api.timeout + LeaseMargin), and the global pause's probe lease.
	DefaultLease = 25 * time.Second
	// LeaseMargin is added to api.timeout to make a claim's lease. A live
	// process starts a claimed send within the template lookup's bound
	// (templateTimeout, 5s), and the dispatcher reaps at least every
	// defaultReapEvery (2s), so a dead process's deliveries are recovered
	// within api.timeout + 10s (SPEC §6).
	LeaseMargin = 8 * time.Second
	// DefaultGiveUpAfter is how long a batch job waits for a failing
	// database, while sending or replaying the journal, before it exits 1
	// and leaves the rest to cron's next start.
	DefaultGiveUpAfter = 2 * time.Minute
	// defaultReapEvery is how often expired leases are recovered.
	defaultReapEvery = 2 * time.Second
)

// DispatchConfig tunes the dispatcher. Zero values get the defaults noted.
type DispatchConfig struct {
	Concurrency  int            // sendApplet requests in flight at most (DefaultConcurrency)
	Retry        RetryPolicy    // what each attempt leads to
	Pacing       Pacing         // per-account limits and circuit breaker
	Lease        time.Duration  // a claim's lifetime: api.timeout + LeaseMargin (DefaultLease)
	PollInterval time.Duration  // look for due work at least this often (DefaultPollInterval)
	Location     *time.Location // time zone of {{date}} (Local)
	FlushSize    int            // results per database write (64)
	FlushEvery   time.Duration  // longest a result waits to be written (100ms)
	StopTimeout  time.Duration  // how long to keep trying to record at stop (30s)
	ReapEvery    time.Duration  // how often to recover expired leases (2s)
	// Outage pauses claiming while the API as a whole does not answer,
	// except for its probe; nil never pauses.
	Outage *Outage
	// GiveUpAfter ends Drain when the database has failed for this long
	// without a break (DefaultGiveUpAfter): a batch job exits 1 and cron
	// runs it again, rather than hanging. The daemon (Run) keeps trying.
	GiveUpAfter time.Duration
	// Clock is the time of pacing, backoff, leases and the breaker
	// (SystemClock: the database's clock in SQL, the wall clock here).
	Clock Clock
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
		c.Concurrency = DefaultConcurrency
	}
	if c.FlushSize <= 0 {
		c.FlushSize = 64
	}
	if c.Location == nil {
		c.Location = time.Local
	}
	if c.Clock == nil {
		c.Clock = SystemClock{}
	}
	if c.Retry.MaxAttempts <= 0 {
		c.Retry.MaxAttempts = 1
	}
	def(&c.Lease, DefaultLease)
	def(&c.PollInterval, DefaultPollInterval)
	def(&c.FlushEvery, 100*time.Millisecond)
	def(&c.StopTimeout, 30*time.Second)
	def(&c.ReapEvery, defaultReapEvery)
	def(&c.GiveUpAfter, DefaultGiveUpAfter)
	return c
}

// Dispatcher claims due deliveries from the store and sends each on a
// worker of its own. It has cfg.Concurrency slots: a claimed delivery holds
// one from its claim until its result is written (or the claim released), so
// a process claims only Concurrency − in flight − unwritten, and a claimed
// delivery is sent at once, never waiting out its lease in a local queue.
// While the last write of results failed it claims nothing: results held in
// memory stay bounded by Concurrency, and so do the confirmed sends a crash
// during a database outage can leave `unknown` (SPEC §6). Every retry goes
// back through the database, so any instance may take it.
type Dispatcher struct {
	store     DeliveryStore
	sender    Sender
	cfg       DispatchConfig
	log       zerolog.Logger
	templates templateCache
	spacing   *spacer   // nil without pacing
	ensured   time.Time // when the last claim made sure every account has a pacing row (loop only)
	// templatesAt is when the templates were last refreshed (loop only);
	// templatesStale asks for a refresh before the next claim.
	templatesAt    time.Time
	templatesStale atomic.Bool

	held    holding       // slots: claimed, result not yet written or claim released
	busy    atomic.Int64  // workers between their claim and handing over a result
	failing unrecorded    // accounts with failed attempts not yet recorded
	unsent  claims        // claimed, never sent: to release at the end
	freed   chan struct{} // a worker finished
	wake    chan struct{} // new work may be due
}

// NewDispatcher returns a dispatcher sending store's deliveries with sender.
func NewDispatcher(store DeliveryStore, sender Sender, cfg DispatchConfig, log zerolog.Logger) *Dispatcher {
	cfg = cfg.withDefaults()
	return &Dispatcher{
		store:   store,
		sender:  sender,
		cfg:     cfg,
		log:     log,
		spacing: newSpacer(cfg.Pacing),
		freed:   make(chan struct{}, 1),
		wake:    make(chan struct{}, 1),
	}
}

// Wake tells the dispatcher that work may be due now (a run was created, a
// campaign resumed), so it does not wait for its next poll.
func (d *Dispatcher) Wake() {
	d.templatesStale.Store(true)
	signal(d.wake)
}

// Run sends until ctx ends, then stops claiming, lets in-flight requests
// finish and records them before it returns: the daemon's graceful stop.
func (d *Dispatcher) Run(ctx context.Context) error { return d.run(ctx, false) }

// Drain sends until no delivery of an active campaign is pending or sending,
// waiting out backoff, or until ctx ends: the batch job.
func (d *Dispatcher) Drain(ctx context.Context) error { return d.run(ctx, true) }

func (d *Dispatcher) run(ctx context.Context, untilDone bool) error {
	rec := newRecorder(d.store, d.cfg, d.log, d.runsCompleted, d.written)
	var bg conc.WaitGroup
	bg.Go(rec.run)
	// Up to Concurrency goroutines that live as long as the run and take one
	// send after another: a goroutine per send paid for growing its stack
	// on every request (about 5% of the CPU).
	workers := pool.New().WithMaxGoroutines(d.cfg.Concurrency)
	err := d.loop(ctx, untilDone, workers, rec)
	// What was claimed but not sent goes back at once, while its lease
	// holds, rather than after the requests in flight and their results:
	// another instance would reap it as unknown once the lease ran out.
	unreleased := d.releaseUnsent(ctx)
	workers.Wait()
	unreleased += d.releaseUnsent(ctx) // those the workers handed back
	rec.close()
	bg.Wait()
	if n := rec.lost(); n > 0 && err == nil {
		err = fmt.Errorf("%w: %d results", ErrResultsNotRecorded, n)
	}
	if unreleased > 0 && err == nil {
		err = fmt.Errorf("%w: %d claimed deliveries not released", ErrResultsNotRecorded, unreleased)
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
		now := d.cfg.Clock.Now()
		if failingSince.IsZero() {
			failingSince = now
		}
		d.log.Warn().Err(err).Msg(what + "; trying again")
		if untilDone && now.Sub(failingSince) >= d.cfg.GiveUpAfter {
			return fmt.Errorf("%w for %v: %v", ErrDatabaseUnavailable, d.cfg.GiveUpAfter, err)
		}
		return nil
	}
	for ctx.Err() == nil {
		if now := d.cfg.Clock.Now(); now.Sub(lastReap) >= d.cfg.ReapEvery {
			d.reap(ctx)
			lastReap = now
		}
		d.retryRelease(ctx, rec)
		if free := d.free(rec); free > 0 {
			n, err := d.claimAndStart(ctx, free, workers, rec)
			if err != nil {
				if err := failed(err, "claim failed"); err != nil {
					return err
				}
				d.pause(ctx, time.Second)
				continue
			}
			failingSince = time.Time{} // the database answered
			if n > 0 {
				// Results that came in during the claim hold slots the
				// next claim needs: written now, the write overlaps that
				// claim, instead of waiting until every slot is taken.
				rec.nudge()
			}
			if n == free {
				continue // more may be due right now
			}
			if n > 0 {
				// Something was due, and more comes due in a moment: paced
				// accounts become ready one after another. Claim again
				// shortly, without asking the store what is left, which
				// costs as much as a claim when there are many accounts
				// (and would be asked after every claim).
				d.nap(ctx, minWait)
				continue
			}
		} else if !rec.failing() {
			// Every slot is taken, some perhaps by results waiting to be
			// written: have them written now, and wait for a slot.
			rec.nudge()
			if d.busy.Load() > 0 {
				d.pause(ctx, d.cfg.ReapEvery)
				continue
			}
		}
		done, next, err := d.idle(ctx, rec, d.busy.Load() == 0)
		if err != nil {
			if err := failed(err, "could not check what is left to send"); err != nil {
				return err
			}
			next = time.Second
		} else {
			failingSince = time.Time{}
		}
		next = max(next, d.cfg.Outage.Wait())
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

// free is how many deliveries may be claimed now: the slots not held by a
// delivery in flight or a result not yet written, and none while the last
// write of results failed.
func (d *Dispatcher) free(rec *recorder) int {
	if rec.failing() {
		return 0
	}
	return d.cfg.Concurrency - d.held.len()
}

// written is told of every batch of results the recorder wrote: their
// slots are free again.
func (d *Dispatcher) written(rs []Result) {
	d.failing.recorded(rs)
	ds := make([]Delivery, len(rs))
	for i, r := range rs {
		ds[i] = r.Delivery
	}
	d.held.drop(ds)
	signal(d.freed)
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
	o, err := d.store.Outstanding(ctx, OutstandingParams{Pacing: d.cfg.Pacing, Now: storeNow(d.cfg.Clock)})
	if err != nil {
		return false, 0, err
	}
	next = max(o.NextDue, minWait)
	if o.Pending == 0 && o.Sending > 0 {
		// Claimed elsewhere: another instance is sending, or a dead one's
		// lease (or that of a claim of ours whose rows never arrived) must
		// run out before it is reaped.
		next = d.cfg.ReapEvery
	}
	return quiet && o.Done(), next, nil
}

// minWait keeps the loop from spinning on work another instance holds.
const minWait = 20 * time.Millisecond

// nap waits for d, a wake-up or the end of ctx, but not for a finished
// worker: while claims find work, workers finish all the time, and each
// would start a claim of one or two deliveries.
func (d *Dispatcher) nap(ctx context.Context, wait time.Duration) { d.sleep(ctx, wait, nil) }

// pause waits for d, a finished worker, a wake-up or the end of ctx.
func (d *Dispatcher) pause(ctx context.Context, wait time.Duration) { d.sleep(ctx, wait, d.freed) }

// sleep waits for d, a signal on freed (never, when nil), a wake-up or the
// end of ctx.
func (d *Dispatcher) sleep(ctx context.Context, wait time.Duration, freed <-chan struct{}) {
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-freed:
	case <-d.wake:
	case <-t.C:
	}
}

// reap recovers expired leases: other processes' (unknown, or pending per
// the retry policy) and this process's own lost claims (pending, never
// sent). It runs on the loop that claims, so every claim that returned is
// already in d.held.
func (d *Dispatcher) reap(ctx context.Context) {
	n, err := d.store.Reap(ctx, ReapParams{
		RetryAmbiguous: d.cfg.Retry.Ambiguous,
		MaxAttempts:    d.cfg.Retry.MaxAttempts,
		Delay:          d.cfg.Lease,
		Now:            storeNow(d.cfg.Clock),
		Holding:        d.held.list(),
	})
	if err != nil {
		if ctx.Err() == nil {
			d.log.Warn().Err(err).Msg("could not reap expired leases")
		}
		return
	}
	if n > 0 {
		d.log.Warn().Int("deliveries", n).Bool("retry", d.cfg.Retry.Ambiguous).
			Msg("reaped expired leases: deliveries left sending by a process that stopped, or claims of this one whose rows never arrived")
	}
}

func (d *Dispatcher) runsCompleted(runs []int64) {
	for _, id := range runs {
		d.templates.forget(id)
		d.log.Debug().Int64("run_id", id).Msg("run completed")
	}
}

// signal wakes a waiter on ch without ever blocking.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}
