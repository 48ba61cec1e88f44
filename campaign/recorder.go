package campaign

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
)

// errNotRecorded reports that results are still waiting for the database.
var errNotRecorded = errors.New("results not yet recorded: database unavailable")

// recorder writes results to the store in batches, off the workers' path, so
// a send costs no transaction of its own. Results whose write fails are kept
// and written again, with backoff, until the database is back (SPEC §6);
// meanwhile failing tells the dispatcher to claim nothing, and since every
// unwritten result holds one of its slots, at most Concurrency are kept.
type recorder struct {
	store      DeliveryStore
	clock      Clock
	log        zerolog.Logger
	batch      int
	every      time.Duration
	stopWithin time.Duration
	in         chan Result
	flushes    chan chan error
	nudges     chan struct{}
	completed  func([]int64)
	written    func([]Result)
	broken     atomic.Bool    // the last write failed
	journal    *journalKeeper // nil when results.journal is off

	buf      []Result
	failures int
	retryAt  time.Time
	deadline time.Time // while finishing: no write may run past it
	unsaved  int       // results given up on at stop, read after run returns
}

// lost is how many results were never recorded; valid once run returned.
func (r *recorder) lost() int { return r.unsaved }

func newRecorder(store DeliveryStore, cfg DispatchConfig, log zerolog.Logger, completed func([]int64), written func([]Result)) *recorder {
	return &recorder{
		store:      store,
		clock:      cfg.Clock,
		log:        log,
		batch:      cfg.FlushSize,
		every:      cfg.FlushEvery,
		stopWithin: cfg.StopTimeout,
		in:         make(chan Result, cfg.Concurrency), // never full: a result holds a slot
		flushes:    make(chan chan error),
		nudges:     make(chan struct{}, 1),
		completed:  completed,
		written:    written,
		journal:    newJournalKeeper(cfg.Journal, log),
	}
}

// add queues a result. It never blocks: results not yet written are at most
// the dispatcher's Concurrency.
func (r *recorder) add(res Result) { r.in <- res }

// nudge asks for what is queued to be written now rather than at the next
// tick: the dispatcher has no free slot, and waiting results hold some.
// Results that pile up during one write go in the next, so batches grow
// with the load.
func (r *recorder) nudge() { signal(r.nudges) }

// failing reports whether the last write failed: until one succeeds, no new
// delivery may be claimed.
func (r *recorder) failing() bool { return r.broken.Load() }

// flush writes everything queued so far and reports whether it succeeded.
func (r *recorder) flush(ctx context.Context) error {
	done := make(chan error, 1)
	select {
	case r.flushes <- done:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// close stops the recorder once everything queued is written or the stop
// timeout has passed. The caller must not add after close.
func (r *recorder) close() { close(r.in) }

// run is the recorder's loop; it returns after close, having written what it
// could.
func (r *recorder) run() {
	tick := time.NewTicker(r.every)
	defer tick.Stop()
	for {
		select {
		case res, ok := <-r.in:
			if !ok {
				r.finish()
				return
			}
			r.buf = append(r.buf, res)
			r.journalNow()
			if len(r.buf) >= r.batch {
				r.write()
			}
		case <-tick.C:
			r.write()
		case <-r.nudges:
			r.drain()
			r.write()
		case done := <-r.flushes:
			r.drain()
			r.retryAt = time.Time{}
			r.write()
			if len(r.buf) > 0 {
				done <- errNotRecorded
			} else {
				done <- nil
			}
		}
	}
}

// drain moves whatever is queued into the buffer without blocking.
func (r *recorder) drain() {
	for {
		select {
		case res, ok := <-r.in:
			if !ok {
				return
			}
			r.buf = append(r.buf, res)
		default:
			return
		}
	}
}

// write tries to record the buffer once, unless an earlier failure asked to
// wait; on failure it keeps the buffer and backs off.
func (r *recorder) write() {
	r.journal.keep(r.buf) // on disk before the database is tried, backing off or not
	if len(r.buf) == 0 || r.clock.Now().Before(r.retryAt) {
		return
	}
	timeout := 30 * time.Second
	if !r.deadline.IsZero() {
		timeout = min(timeout, time.Until(r.deadline))
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	// The batch is about to be written: the place for anything that must
	// hold it first.
	completed, err := r.store.Record(ctx, r.buf)
	if err != nil {
		r.failed(err)
		return
	}
	r.recorded(completed)
}

// failed keeps the buffer, stops claims and backs off.
func (r *recorder) failed(err error) {
	r.broken.Store(true)
	r.failures++
	wait := r.backoff()
	r.retryAt = r.clock.Now().Add(wait)
	r.log.Warn().Err(err).Int("results", len(r.buf)).Dur("retry_in", wait).
		Msg("could not record results; keeping them and trying again")
}

// backoff is the wait after the latest of r.failures failed writes.
func (r *recorder) backoff() time.Duration {
	return min(time.Duration(1<<min(r.failures, 5))*250*time.Millisecond, 10*time.Second)
}

// recorded is the buffer written: its results' slots are freed and the
// runs they completed announced.
func (r *recorder) recorded(completed []int64) {
	if r.failures > 0 {
		r.log.Info().Int("results", len(r.buf)).Msg("database is back; results recorded")
	}
	r.broken.Store(false)
	r.journal.written()
	if r.written != nil {
		r.written(r.buf)
	}
	r.failures, r.buf = 0, r.buf[:0]
	if len(completed) > 0 && r.completed != nil {
		r.completed(completed)
	}
}

// finish writes what is left, trying until the stop timeout. Its waits are
// on the wall clock: they bound how long a stop takes.
func (r *recorder) finish() {
	r.deadline = time.Now().Add(r.stopWithin)
	for len(r.buf) > 0 && time.Now().Before(r.deadline) {
		r.retryAt = time.Time{}
		if r.write(); len(r.buf) > 0 {
			time.Sleep(max(min(r.backoff(), time.Until(r.deadline)), 0))
		}
	}
	if len(r.buf) > 0 {
		r.unsaved = len(r.buf)
		msg := "stopping with results not recorded; their deliveries will be reaped as unknown"
		if r.journal != nil && !r.journal.failing {
			msg = "stopping with results not recorded; they are in the results journal, which the next start replays"
		}
		r.log.Error().Int("results", len(r.buf)).Msg(msg)
	}
}
