package campaign

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"
)

// Journal keeps the API's answers on local disk until the database has them
// (results.journal, SPEC §8). Without it, results waiting for an unreachable
// database live only in memory, and a process killed then loses them: their
// deliveries are reaped as `unknown` although the API confirmed them.
// internal/journal implements it with a file.
type Journal interface {
	// Append stores results durably (written and synced) before the
	// recorder tries to write them to the database. One call is one batch:
	// one sync, however many results.
	Append(results []Result) error
	// Written says that every result appended so far is in the database,
	// so the journal may forget them.
	Written() error
	// Replay calls fn, oldest first, with the results appended and not
	// marked written, by this process or a previous one. It stops at fn's
	// first error and returns it.
	Replay(fn func([]Result) error) error
}

// journalKeeper puts the recorder's results in the journal before each
// attempt to write them to the database. A nil keeper (journal off) does
// nothing.
type journalKeeper struct {
	journal Journal
	log     zerolog.Logger
	kept    int  // how many of the recorder's unwritten results are journalled
	failing bool // the last Append failed: logged once, not every tick
}

func newJournalKeeper(j Journal, log zerolog.Logger) *journalKeeper {
	if j == nil {
		return nil
	}
	return &journalKeeper{journal: j, log: log}
}

// keep journals the results of unwritten not journalled yet. unwritten is
// every result not yet written to the database, in order: it only grows
// between calls to written. When the journal fails (disk full), the results
// stay in memory and the database write is tried anyway: the journal adds
// safety, it never takes any away.
func (k *journalKeeper) keep(unwritten []Result) {
	if k == nil || len(unwritten) <= k.kept {
		return
	}
	if err := k.journal.Append(unwritten[k.kept:]); err != nil {
		if !k.failing {
			k.log.Error().Err(err).Int("results", len(unwritten)-k.kept).
				Msg("could not journal results; until the journal works again, a crash before they reach the database loses them")
		}
		k.failing = true
		return
	}
	if k.failing {
		k.log.Info().Int("results", len(unwritten)).Msg("results journalled again")
	}
	k.kept, k.failing = len(unwritten), false
}

// written tells the keeper that every result passed to keep is in the
// database.
func (k *journalKeeper) written() {
	if k == nil {
		return
	}
	k.kept = 0
	if err := k.journal.Written(); err != nil {
		// Harmless: replaying a recorded result changes nothing.
		k.log.Warn().Err(err).Msg("could not compact the results journal")
	}
}

// journalNow journals, as soon as they arrive, the results queued for the
// recorder, rather than at its next write: a process killed in between
// would lose them. It takes whatever else is queued along (group commit),
// so under load one sync covers many results, and a slow disk slows the
// workers rather than letting unjournalled results pile up.
func (r *recorder) journalNow() {
	if r.journal == nil {
		return
	}
	r.drain()
	r.journal.keep(r.buf)
}

// ReplayOptions tunes ReplayJournal.
type ReplayOptions struct {
	// GiveUpAfter ends the replay with ErrDatabaseUnavailable once the
	// database has failed for this long without a break; 0 keeps trying
	// until ctx ends (the daemon).
	GiveUpAfter time.Duration
	// Batch is how many results one database write takes at most (512).
	Batch int
}

// ReplayJournal writes to the database the results that a previous process
// journalled but could not record (it was killed, or stopped, while the
// database was unreachable), then empties the journal. It returns how many
// results it replayed.
//
// Run it before the dispatcher claims anything: with retry.ambiguous a
// reaped delivery may be claimed and sent again, and only the journal knows
// that the API already confirmed it. Replaying is safe however often it
// happens: Record is idempotent, and a result overwrites the `unknown` or
// `pending` that a reaper guessed meanwhile (the API's answer is better than
// a guess). While the database is unreachable it keeps the journal and tries
// again.
func ReplayJournal(ctx context.Context, j Journal, store DeliveryStore, log zerolog.Logger, opts ReplayOptions) (int, error) {
	if opts.Batch <= 0 {
		opts.Batch = 512
	}
	var (
		failingSince time.Time
		wait         = 250 * time.Millisecond
	)
	for {
		n, err := replayOnce(ctx, j, store, opts.Batch)
		if err == nil {
			if n > 0 {
				log.Info().Int("results", n).Msg("results journal replayed into the database")
			}
			if err := j.Written(); err != nil {
				return n, fmt.Errorf("compact results journal: %w", err)
			}
			return n, nil
		}
		var jerr *journalError
		if errors.As(err, &jerr) || ctx.Err() != nil {
			return 0, err
		}
		if failingSince.IsZero() {
			failingSince = time.Now()
		}
		if opts.GiveUpAfter > 0 && time.Since(failingSince) >= opts.GiveUpAfter {
			return 0, fmt.Errorf("replay results journal: %w for %v: %v", ErrDatabaseUnavailable, opts.GiveUpAfter, err)
		}
		log.Warn().Err(err).Dur("retry_in", wait).
			Msg("could not replay the results journal into the database; keeping it and trying again")
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("replay results journal: %w", ctx.Err())
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// journalError marks a failure to read the journal, which no retry cures.
type journalError struct{ err error }

func (e *journalError) Error() string { return "read results journal: " + e.err.Error() }
func (e *journalError) Unwrap() error { return e.err }

// replayOnce writes everything in the journal, in batches of at most batch
// results, in the order it was journalled.
func replayOnce(ctx context.Context, j Journal, store DeliveryStore, batch int) (int, error) {
	var (
		buf      []Result
		replayed int
		werr     error
	)
	flush := func() error {
		if len(buf) == 0 {
			return nil
		}
		if _, err := store.Record(ctx, buf); err != nil {
			werr = err
			return err
		}
		replayed += len(buf)
		buf = buf[:0]
		return nil
	}
	err := j.Replay(func(rs []Result) error {
		buf = append(buf, rs...)
		if len(buf) >= batch {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	switch {
	case err == nil:
		return replayed, nil
	case werr != nil:
		return 0, fmt.Errorf("record journalled results: %w", werr)
	default:
		return 0, &journalError{err}
	}
}
