package campaign

import (
	"context"
	"sync"
	"time"

	"github.com/sourcegraph/conc/pool"
)

// claimTimeout bounds a claim. A claim runs on a context that a stop does
// not cancel: cancelled mid-statement, PostgreSQL may commit the claim while
// the client drops its rows. Such lost claims are not stranded (reap gives
// them back once their lease ran out, since they are not in d.held), but a
// stop would then leave them `sending` for another process to reap as
// `unknown`, never sent.
const claimTimeout = 10 * time.Second

// claimAndStart prepares the templates of open runs, claims up to limit
// deliveries and starts each at once. A delivery whose run's template was
// not prepared (its run began between the two queries) is released rather
// than sent late behind a newer token, and so is everything claimed once a
// stop has come. It returns how many it started.
func (d *Dispatcher) claimAndStart(ctx context.Context, limit int, workers *pool.Pool, rec *recorder) (int, error) {
	if err := d.refreshTemplates(ctx); err != nil || ctx.Err() != nil {
		return 0, err
	}
	claimed, err := d.claim(ctx, limit)
	if err != nil {
		return 0, err
	}
	d.held.hold(claimed)
	var unready []Delivery
	started := 0
	for i, dl := range claimed {
		if ctx.Err() != nil {
			d.unsent.add(claimed[i:]...) // stopping: released on the way out
			d.notSent(claimed[i:])
			break
		}
		rt, ok := d.templates.get(dl.RunID)
		if !ok {
			unready = append(unready, dl)
			continue
		}
		d.start(ctx, workers, rec, dl, rt)
		started++
	}
	if len(unready) > 0 {
		d.templatesStale.Store(true) // a run opened since the last refresh
	}
	d.notSent(unready)
	d.release(ctx, unready)
	return started, nil
}

// templatesMaxAge is how long the open runs' templates are trusted without
// asking the store again, unless a wake-up (a run created here or announced
// by another instance) or a claimed delivery of an unknown run says that
// runs have opened. Asking before every claim walked every open run each
// time: with 1,000 open runs, a quarter of what a claim cost.
const templatesMaxAge = 250 * time.Millisecond

// refreshTemplates prepares the templates of the runs opened since the last
// refresh, when they may have changed (the rule of templatesMaxAge).
func (d *Dispatcher) refreshTemplates(ctx context.Context) error {
	now := d.cfg.Clock.Now()
	if !d.templatesStale.Swap(false) && !d.templatesAt.IsZero() && now.Sub(d.templatesAt) < templatesMaxAge {
		return nil
	}
	added, err := d.templates.refresh(ctx, d.store)
	if err != nil {
		d.templatesStale.Store(true)
		return err
	}
	d.templatesAt = now
	if added {
		d.ensured = time.Time{} // new runs may send from accounts without a pacing row
	}
	return nil
}

// notSent tells the global pause of claimed deliveries that will not be
// sent now: if its probe is among them, the next probe goes at once rather
// than after the probe's lease.
func (d *Dispatcher) notSent(ds []Delivery) {
	for _, dl := range ds {
		d.cfg.Outage.Unsent(dl.ID)
	}
}

// release hands back claimed deliveries that were not sent. Those it could
// not release keep their slots and are tried again (retryRelease) and at
// stop.
func (d *Dispatcher) release(ctx context.Context, ds []Delivery) {
	if len(ds) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), claimTimeout)
	defer cancel()
	if _, err := d.store.Release(ctx, ds); err != nil {
		d.log.Warn().Err(err).Int("deliveries", len(ds)).Msg("could not release unsent deliveries; trying again")
		d.unsent.add(ds...)
		return
	}
	d.held.drop(ds)
}

// retryRelease tries again to release what an earlier release could not,
// unless the dispatcher is stopping (it releases everything on its way out)
// or the database is refusing writes (the recorder's backoff decides when
// to try again; a release tried on every pass would hold up the reaper).
func (d *Dispatcher) retryRelease(ctx context.Context, rec *recorder) {
	if ctx.Err() == nil && !rec.failing() {
		d.release(ctx, d.unsent.take())
	}
}

// claim takes up to limit due deliveries. Whatever a stop interrupts, the
// claim completes, so that the caller holds every delivery it marked and
// can send or release each one.
func (d *Dispatcher) claim(ctx context.Context, limit int) ([]Delivery, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), claimTimeout)
	defer cancel()
	now := d.cfg.Clock.Now()
	ensure := now.Sub(d.ensured) >= d.cfg.ReapEvery
	asked := false // the global pause may claim nothing without asking
	ds, err := d.cfg.Outage.Claim(ctx, limit, func(limit int) ([]Delivery, error) {
		asked = true
		return d.store.Claim(ctx, ClaimParams{
			Limit: limit, Lease: d.cfg.Lease, Pacing: d.cfg.Pacing, Exclude: d.failing.accounts(),
			Now: storeTime(d.cfg.Clock, now), EnsureAccounts: ensure,
		})
	})
	if err == nil && asked && ensure {
		d.ensured = now
	}
	return ds, err
}

// releaseUnsent hands back the deliveries claimed but never sent because
// the dispatcher was stopping, and returns how many it could not release.
func (d *Dispatcher) releaseUnsent(ctx context.Context) int {
	ds := d.unsent.take()
	if len(ds) == 0 {
		return 0
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.cfg.StopTimeout)
	defer cancel()
	n, err := d.store.Release(ctx, ds)
	if err != nil {
		d.log.Error().Err(err).Int("deliveries", len(ds)).
			Msg("stopping with claimed deliveries not released; they will be reaped as unknown")
		return len(ds)
	}
	d.held.drop(ds)
	if n < len(ds) {
		// Reaped by another instance meanwhile: their lease ran out first.
		d.log.Warn().Int("deliveries", len(ds)-n).
			Msg("claimed deliveries not sent were reaped before they could be released")
	}
	d.log.Info().Int("deliveries", n).Msg("released deliveries claimed but not sent")
	return 0
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
		if !r.Attempt.AccountFailure() || u.n[w] == 0 {
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

// claims collects deliveries from several goroutines.
type claims struct {
	mu sync.Mutex
	ds []Delivery
}

func (c *claims) add(ds ...Delivery) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ds = append(c.ds, ds...)
}

func (c *claims) take() []Delivery {
	c.mu.Lock()
	defer c.mu.Unlock()
	ds := c.ds
	c.ds = nil
	return ds
}
