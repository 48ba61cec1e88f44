package campaign

import (
	"context"
	"fmt"
	"time"
)

// OutageState is the global pause as the store keeps it, shared by every
// instance (table api_outage). Its times are on the store's clock, read at
// Now; the Outage moves them onto its own clock (onClock) before comparing
// them with it.
type OutageState struct {
	// Now is the store's time when it read the state: the database's clock,
	// or the now a test passed.
	Now time.Time
	// Since is when the current outage began; zero while the API answers.
	Since time.Time
	// PausedUntil is the earliest time of the next probe.
	PausedUntil time.Time
	// LastError is the error of the last failure that opened or prolonged
	// the outage, for logs and /readyz.
	LastError string
	// ProbeOwner names the instance whose probe is in flight ("" for none)
	// and ProbeUntil when its claim on the probe runs out (it may have died).
	ProbeOwner string
	ProbeUntil time.Time
	// ProbeMine reports that ProbeOwner is the instance that read the state.
	ProbeMine bool
}

// Paused reports whether sending is paused.
func (s OutageState) Paused() bool { return !s.Since.IsZero() }

// onClock moves s's times from the store's clock onto a clock that read now
// when the store read Now: each stays as far from now as it was from the
// store's now. A host whose clock is minutes off the database's then still
// waits out the probe time and the probe's lease that the database set,
// to within the read's round trip (later, never earlier).
func (s OutageState) onClock(now time.Time) OutageState {
	if s.Now.IsZero() {
		return s // no row: nothing to move
	}
	d := now.Sub(s.Now)
	move := func(t time.Time) time.Time {
		if t.IsZero() {
			return t
		}
		return t.Add(d)
	}
	s.Since, s.PausedUntil, s.ProbeUntil, s.Now = move(s.Since), move(s.PausedUntil), move(s.ProbeUntil), now
	return s
}

// RestingAccounts are the accounts whose circuit breaker is open now, as
// the store counts them across every instance.
type RestingAccounts struct {
	Count  int
	Sample []string // a few of their w_ids, most recently failed first, for the log
}

// OutageStore keeps the global pause where every instance sees it. Every
// time-dependent method takes now: zero means the database's clock, which
// production passes (storeNow) so that instances on hosts whose clocks
// disagree share one clock; a test passes its manual time. Times to come
// are therefore passed as durations from now, never as a host's times.
type OutageStore interface {
	// OutageState reads the shared state, and the store's now (state.Now).
	OutageState(ctx context.Context, now time.Time) (OutageState, error)
	// OpenOutage pauses sending for every instance, with the first probe
	// not before probeIn from now. An outage already open keeps its start,
	// its next probe time and any other instance's probe in flight; lastErr
	// replaces the last error. It reports whether this call opened the
	// outage.
	OpenOutage(ctx context.Context, now time.Time, probeIn time.Duration, lastErr string) (opened bool, err error)
	// TakeProbe makes this instance the one that probes, for lease, if the
	// outage is open, its probe time has come and no other instance's
	// probe is in flight. Taking it again while holding it renews it.
	TakeProbe(ctx context.Context, now time.Time, lease time.Duration) (bool, error)
	// ProbeFailed ends this instance's probe: the API still does not
	// answer, so the next probe waits for wait from now (0: it may go at
	// once, as after a probe that never reached the API).
	ProbeFailed(ctx context.Context, now time.Time, wait time.Duration, lastErr string) error
	// CloseOutage resumes sending for every instance. It reports whether
	// an outage was open.
	CloseOutage(ctx context.Context, now time.Time) (closed bool, err error)
	// RestingAccounts counts the accounts whose circuit breaker (p's
	// BreakerFailures and BreakerCoolDown) rests them at now.
	RestingAccounts(ctx context.Context, p Pacing, now time.Time) (RestingAccounts, error)
}

// outageTimeout bounds one read or write of the shared state, so a stalled
// database delays the next refresh, not the whole service.
const outageTimeout = 5 * time.Second

// writeKind is a change of the shared state this process decided and has
// yet to store.
type writeKind int

const (
	writeOpen writeKind = iota + 1
	writeProbeFailed
	writeClose
)

// outageWrite is a pending change of the shared state.
type outageWrite struct {
	kind writeKind
	at   time.Time     // as the store takes it (storeTime): zero in production
	wait time.Duration // writeOpen, writeProbeFailed: until the next probe
	err  string
}

// learn adopts the shared state read at generation gen, unless this process
// decided something since (its write would be overwritten by a stale read).
func (o *Outage) learn(shared OutageState, gen uint64) {
	if o.gen != gen || o.write != nil {
		return
	}
	was := o.state.Paused()
	o.state = shared
	switch {
	case shared.Paused() && !was:
		o.log.Warn().Str("breaker", "api").Time("since", shared.Since).Str("error", shared.LastError).
			Msg("sending paused: another instance found the API unreachable")
	case !shared.Paused() && was:
		o.failures = 0
		o.log.Info().Str("breaker", "api").Msg("sending resumed: the API answers again")
	}
}

// Refresh stores this process's pending decision, then reads the shared
// state and the resting accounts: what Run does every Refresh interval,
// exported so tests can step it.
func (o *Outage) Refresh(ctx context.Context) error {
	if o == nil {
		return nil
	}
	o.io.Lock()
	defer o.io.Unlock()
	ctx, cancel := context.WithTimeout(ctx, outageTimeout)
	defer cancel()
	if err := o.flush(ctx); err != nil {
		return err
	}
	o.mu.Lock()
	gen := o.gen
	o.mu.Unlock()
	if o.cfg.Failures > 0 {
		shared, err := o.read(ctx)
		if err != nil {
			return err
		}
		o.mu.Lock()
		o.learn(shared, gen)
		o.mu.Unlock()
	}
	return o.refreshResting(ctx)
}

// read reads the shared state, its times moved onto this process's clock.
func (o *Outage) read(ctx context.Context) (OutageState, error) {
	st, err := o.store.OutageState(ctx, storeNow(o.clock))
	if err != nil {
		return st, fmt.Errorf("read the API pause: %w", err)
	}
	return st.onClock(o.clock.Now()), nil
}

// flush stores the pending decision, if any. It keeps it when the store
// fails, to try again at the next Refresh.
func (o *Outage) flush(ctx context.Context) error {
	o.mu.Lock()
	w := o.write
	o.mu.Unlock()
	if w == nil {
		return nil
	}
	var (
		opened bool
		err    error
	)
	switch w.kind {
	case writeOpen:
		opened, err = o.store.OpenOutage(ctx, w.at, w.wait, w.err)
	case writeProbeFailed:
		err = o.store.ProbeFailed(ctx, w.at, w.wait, w.err)
	case writeClose:
		_, err = o.store.CloseOutage(ctx, w.at)
	}
	if err != nil {
		return fmt.Errorf("record the API pause: %w", err)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.write == w {
		o.write = nil
	}
	if opened {
		o.outages++
	}
	return nil
}

// refreshResting reads which accounts' breakers are open and logs changes,
// so an operator can tell one resting account from a global pause.
func (o *Outage) refreshResting(ctx context.Context) error {
	if o.cfg.Accounts.BreakerFailures <= 0 {
		return nil
	}
	r, err := o.store.RestingAccounts(ctx, o.cfg.Accounts, storeNow(o.clock))
	if err != nil {
		return fmt.Errorf("count resting accounts: %w", err)
	}
	o.mu.Lock()
	prev := o.resting.Count
	o.resting = r
	o.mu.Unlock()
	switch {
	case r.Count > prev:
		o.log.Warn().Str("breaker", "account").Int("resting", r.Count).Strs("w_ids", r.Sample).
			Dur("cool_down", o.cfg.Accounts.BreakerCoolDown).
			Msg("account circuit breaker open: accounts whose API answers keep failing are resting")
	case r.Count < prev:
		o.log.Info().Str("breaker", "account").Int("resting", r.Count).Strs("w_ids", r.Sample).
			Msg("fewer accounts resting")
	}
	return nil
}

// Run refreshes the shared state every Refresh interval, and at once after
// a local decision, until ctx ends. A failing store is logged once, and
// tried again: the pause must never stop the process.
func (o *Outage) Run(ctx context.Context) error {
	if o == nil {
		<-ctx.Done()
		return nil
	}
	tick := time.NewTicker(o.cfg.Refresh)
	defer tick.Stop()
	for {
		o.refreshLogged(ctx)
		select {
		case <-ctx.Done():
			o.finish()
			return nil
		case <-tick.C:
		case <-o.kick:
		}
	}
}

func (o *Outage) refreshLogged(ctx context.Context) {
	err := o.Refresh(ctx)
	o.mu.Lock()
	defer o.mu.Unlock()
	switch {
	case err != nil && ctx.Err() == nil && !o.storeFailing:
		o.storeFailing = true
		o.log.Warn().Err(err).Msg("could not share the API pause state; trying again")
	case err == nil && o.storeFailing:
		o.storeFailing = false
		o.log.Info().Msg("API pause state shared again")
	}
}

// finish stores a decision still pending at stop, so other instances do not
// wait a probe period to learn that the API answers again, and hands on a
// probe this process holds but never sent, so another instance may probe at
// once instead of waiting out its lease.
func (o *Outage) finish() {
	ctx, cancel := context.WithTimeout(context.Background(), outageTimeout)
	defer cancel()
	o.io.Lock()
	defer o.io.Unlock()
	err := o.flush(ctx)
	o.mu.Lock()
	unsent := o.state.Paused() && o.state.ProbeMine && o.probeID == 0 && o.write == nil
	o.mu.Unlock()
	if err == nil && unsent {
		err = o.store.ProbeFailed(ctx, storeNow(o.clock), 0, "")
	}
	if err != nil {
		o.log.Warn().Err(err).Msg("could not share the API pause state at stop")
	}
}
