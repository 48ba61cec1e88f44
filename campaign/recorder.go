package campaign

import (
	"context"
	"errors"
	"time"

	"github.com/rs/zerolog"
)

// errNotRecorded reports that results are still waiting for the database.
var errNotRecorded = errors.New("results not yet recorded: database unavailable")

// recorder writes results to the store in batches, off the workers' path, so
// a send costs no transaction of its own. Results whose write fails are kept
// and written again, with backoff, until the database is back (SPEC §6).
type recorder struct {
	store      DeliveryStore
	log        zerolog.Logger
	batch      int
	every      time.Duration
	stopWithin time.Duration
	in         chan Result
	flushes    chan chan error
	completed  func([]int64)
	written    func([]Result)
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
		log:        log,
		batch:      cfg.FlushSize,
		every:      cfg.FlushEvery,
		stopWithin: cfg.StopTimeout,
		in:         make(chan Result, cfg.Concurrency*2),
		flushes:    make(chan chan error),
		completed:  completed,
		written:    written,
		journal:    newJournalKeeper(cfg.Journal, log),
	}
}

// add queues a result; it blocks only when the recorder is far behind.
func (r *recorder) add(res Result) { r.in <- res }

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
	if len(r.buf) == 0 || time.Now().Before(r.retryAt) {
		return
	}
	timeout := 30 * time.Second
	if !r.deadline.IsZero() {
		timeout = min(timeout, time.Until(r.deadline))
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	completed, err := r.store.Record(ctx, r.buf)
	if err != nil {
		r.failures++
		wait := min(time.Duration(1<<min(r.failures, 5))*250*time.Millisecond, 10*time.Second)
		r.retryAt = time.Now().Add(wait)
		r.log.Warn().Err(err).Int("results", len(r.buf)).Dur("retry_in", wait).
			Msg("could not record results; keeping them and trying again")
		return
	}
	if r.failures > 0 {
		r.log.Info().Int("results", len(r.buf)).Msg("database is back; results recorded")
	}
	r.journal.written()
	if r.written != nil {
		r.written(r.buf)
	}
	r.failures, r.buf = 0, r.buf[:0]
	if len(completed) > 0 && r.completed != nil {
		r.completed(completed)
	}
}

// finish writes what is left, trying until the stop timeout.
func (r *recorder) finish() {
	r.deadline = time.Now().Add(r.stopWithin)
	for len(r.buf) > 0 && time.Now().Before(r.deadline) {
		if wait := time.Until(r.retryAt); wait > 0 {
			time.Sleep(min(wait, time.Until(r.deadline)))
		}
		r.write()
	}
	if len(r.buf) > 0 {
		r.unsaved = len(r.buf)
		r.log.Error().Int("results", len(r.buf)).
			Msg("stopping with results not recorded; their deliveries will be reaped as unknown")
	}
}
