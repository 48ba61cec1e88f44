package campaign

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// Answered reports whether the API itself answered the attempt: an API code,
// or an HTTP status that refuses this request as it stands or rate-limits it
// (3xx, 4xx other than 408). Such an answer is a verdict on the request and
// its account, and proves that the API as a whole is reachable.
func (a Attempt) Answered() bool {
	return !a.Transport && (a.HTTPStatus != 0 || a.Code != "")
}

// AccountFailure reports whether the attempt counts against its account's
// circuit breaker (SPEC §6): the API answered and the message did not go
// out. Failures of the API as a whole (Transport) and failures that never
// reached the API (a broken template, an internal error) say nothing about
// the account, so they do not count.
func (a Attempt) AccountFailure() bool {
	return a.Outcome != OutcomeSent && a.Answered()
}

// ErrAPIPaused is wrapped by Outage.Err while sending is paused on every
// instance because the API as a whole does not answer.
var ErrAPIPaused = errors.New("sending paused: the API does not answer")

// Defaults of the global pause of sending (SPEC §6): this many failures of
// the API as a whole in a row, with no API answer between them, pause every
// instance, and one probe goes every DefaultProbeEvery (less often as a long
// outage lasts, at most DefaultMaxProbeEvery apart) until the API answers.
// Five is above what an occasional reset connection produces, and well below
// what one wave of workers.concurrency requests to a dead API does; a probe
// every five seconds resumes sending within seconds of a short outage's end
// while costing at most one delivery's attempt per probe.
const (
	// DefaultOutageFailures is the daemon's OutageConfig.Failures. A zero
	// Failures disables the pause rather than taking this default.
	DefaultOutageFailures = 5
	// DefaultProbeEvery is OutageConfig.ProbeEvery's default.
	DefaultProbeEvery = 5 * time.Second
	// DefaultMaxProbeEvery is OutageConfig.MaxProbeEvery's default: so
	// that sending resumes within seconds of the API's return (SPEC §6).
	DefaultMaxProbeEvery = 15 * time.Second
	// DefaultOutageRefresh is OutageConfig.Refresh's default.
	DefaultOutageRefresh = time.Second
)

// OutageConfig tunes the global pause. Zero durations get the defaults noted.
type OutageConfig struct {
	// Failures is how many transport-level failures in a row, with no API
	// answer between them, pause sending on every instance; 0 disables
	// the global pause.
	Failures int
	// ProbeEvery is the wait between probes while paused
	// (DefaultProbeEvery), and MaxProbeEvery the longest
	// (DefaultMaxProbeEvery): the wait is a quarter of the outage's age
	// between the two. Each probe spends a real delivery's attempt, so a
	// long outage spends few, while sending still resumes within a quarter
	// of the outage's length (at most MaxProbeEvery) of the API's return.
	ProbeEvery    time.Duration
	MaxProbeEvery time.Duration
	// ProbeLease is how long a probe may be in flight before another
	// instance may probe instead, in case its sender died: the dispatcher's
	// lease (DefaultLease).
	ProbeLease time.Duration
	// Refresh is how often the shared state is read, so every instance
	// follows a pause or a resume decided elsewhere (DefaultOutageRefresh).
	Refresh time.Duration
	// Accounts holds the account breaker's settings (BreakerFailures,
	// BreakerCoolDown), so that logs and metrics can tell resting accounts
	// apart from the global pause.
	Accounts Pacing
}

func (c OutageConfig) withDefaults() OutageConfig {
	if c.ProbeEvery <= 0 {
		c.ProbeEvery = DefaultProbeEvery
	}
	if c.MaxProbeEvery <= 0 {
		c.MaxProbeEvery = DefaultMaxProbeEvery
	}
	c.MaxProbeEvery = max(c.MaxProbeEvery, c.ProbeEvery)
	if c.ProbeLease <= 0 {
		c.ProbeLease = DefaultLease
	}
	if c.Refresh <= 0 {
		c.Refresh = DefaultOutageRefresh
	}
	return c
}

// Outage is the global pause of sending (SPEC §6). A failure of the API as a
// whole (Attempt.Transport: connection refused, DNS, TLS, timeouts, 5xx) says
// nothing about one account, so instead of counting against every account's
// circuit breaker it counts here. After Failures of them in a row this
// process stops claiming at once and records the pause in the database,
// where every instance reads it within Refresh. While paused, one instance
// at a time claims one real delivery as the probe every ProbeEvery (less
// often as the outage lasts, see OutageConfig): sent
// normally, classified normally, so it can never be a duplicate, and it
// proves exactly what matters — that sendApplet answers again. Any API
// answer, the probe's or a late one's, resumes sending everywhere.
//
// Deliveries that wait out a pause are simply not claimed, so they spend no
// attempts; only the probes do. The shared row is kept on the database's
// clock, and this process compares its times with its own clock only as
// offsets from the database's now, so hosts whose clocks disagree still
// agree on when to probe. A nil *Outage is valid and never pauses.
type Outage struct {
	store OutageStore
	clock Clock
	log   zerolog.Logger
	cfg   OutageConfig
	kick  chan struct{} // a write is pending: Run stores it now

	io sync.Mutex // serialises this process's reads and writes of the shared state

	mu            sync.Mutex
	state         OutageState // as this process knows it
	failures      int         // transport failures in a row, this process
	probeID       int64       // the delivery this process is probing with, 0 when none
	probeDeadline time.Time   // when that probe's claim runs out
	write         *outageWrite
	gen           uint64 // moves at every local decision: reads older than it are stale
	resting       RestingAccounts
	outages       int64 // outages this process opened
	probes        int64 // probes this process sent
	storeFailing  bool  // the last Refresh failed (logged once)
}

// NewOutage returns the global pause, sharing its state through store.
// clock nil means the wall clock.
func NewOutage(store OutageStore, clock Clock, log zerolog.Logger, cfg OutageConfig) *Outage {
	if clock == nil {
		clock = SystemClock{}
	}
	return &Outage{
		store: store,
		clock: clock,
		log:   log,
		cfg:   cfg.withDefaults(),
		kick:  make(chan struct{}, 1),
	}
}

// Claim claims deliveries through claim, as the pause allows: free of them
// while the API answers; one, the probe, when this process may probe now;
// none otherwise (claim is not called).
func (o *Outage) Claim(ctx context.Context, free int, claim func(limit int) ([]Delivery, error)) ([]Delivery, error) {
	if o == nil || o.cfg.Failures <= 0 {
		return claim(free)
	}
	limit, probe, err := o.limit(ctx, free)
	if err != nil || limit == 0 {
		return nil, err
	}
	ds, err := claim(limit)
	if probe && err == nil && len(ds) > 0 {
		o.mu.Lock()
		o.probeID = ds[0].ID
		o.probeDeadline = o.clock.Now().Add(o.cfg.ProbeLease)
		o.probes++
		o.mu.Unlock()
		o.log.Debug().Str("breaker", "api").Int64("delivery_id", ds[0].ID).Msg("probing the API with one delivery")
	}
	return ds, err
}

// limit says how many deliveries may be claimed now, and whether the one
// allowed is the probe. Taking the probe is the one store call here.
func (o *Outage) limit(ctx context.Context, free int) (int, bool, error) {
	o.mu.Lock()
	now := o.clock.Now()
	st := o.state
	switch {
	case !st.Paused():
		o.mu.Unlock()
		return free, false, nil
	case o.write != nil:
		o.mu.Unlock() // the shared state first learns what this process decided
		return 0, false, nil
	case o.probeID != 0 && now.Before(o.probeDeadline):
		o.mu.Unlock()
		return 0, false, nil
	}
	o.probeID = 0
	gen := o.gen
	o.mu.Unlock()
	if now.Before(st.PausedUntil) || (!st.ProbeMine && st.ProbeOwner != "" && now.Before(st.ProbeUntil)) {
		return 0, false, nil
	}

	o.io.Lock()
	defer o.io.Unlock()
	ctx, cancel := context.WithTimeout(ctx, outageTimeout)
	defer cancel()
	took, err := o.store.TakeProbe(ctx, storeTime(o.clock, now), o.cfg.ProbeLease)
	if err != nil {
		return 0, false, fmt.Errorf("take the API probe: %w", err)
	}
	if !took {
		// Someone else probes, the probe time has not come on the
		// database's clock, or the outage ended: learn which.
		shared, err := o.read(ctx)
		if err != nil {
			return 0, false, err
		}
		o.mu.Lock()
		defer o.mu.Unlock()
		o.learn(shared, gen)
		if !o.state.Paused() {
			return free, false, nil
		}
		return 0, false, nil
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.state.Paused() {
		return free, false, nil // resumed meanwhile; the pending close frees the probe
	}
	o.state.ProbeOwner, o.state.ProbeMine, o.state.ProbeUntil = "", true, now.Add(o.cfg.ProbeLease)
	return 1, true, nil
}

// Observe takes the outcome of every attempt this process made. A
// transport-level failure counts towards the pause (or fails the probe);
// an API answer of any kind ends the count, and ends a pause.
func (o *Outage) Observe(r Result) {
	if o == nil || o.cfg.Failures <= 0 {
		return
	}
	a := r.Attempt
	o.mu.Lock()
	defer o.mu.Unlock()
	now := o.clock.Now()
	probe := o.probeID != 0 && r.Delivery.ID == o.probeID
	if probe {
		o.probeID = 0
	}
	paused := o.state.Paused()
	switch {
	case a.Answered():
		o.failures = 0
		if paused {
			o.resume(now)
		}
	case a.Transport:
		o.failures++
		if probe && paused {
			o.probeFailed(now, o.probeWait(now), a.Error)
		} else if !paused && o.failures >= o.cfg.Failures {
			o.open(now, a.Error)
		}
	case probe && paused:
		// The probe never reached the API (a broken template, say): no
		// verdict, so let the next probe go at once.
		o.probeFailed(now, 0, "")
	}
}

// Unsent tells the pause that the dispatcher claimed delivery id but never
// sent it: it released it (its run's template was not prepared) or is
// stopping. If it was this process's probe, there is no verdict, and no
// Observe will come: the probe is handed back at once, so that the next
// one goes now, here or on another instance, rather than after the probe's
// lease.
func (o *Outage) Unsent(id int64) {
	if o == nil || o.cfg.Failures <= 0 {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.probeID == 0 || id != o.probeID {
		return
	}
	o.probeID = 0
	if o.state.Paused() {
		o.probeFailed(o.clock.Now(), 0, "")
	}
}

// probeWait is how long the next probe waits after one failed at now: a
// quarter of the outage's age, between ProbeEvery and MaxProbeEvery.
func (o *Outage) probeWait(now time.Time) time.Duration {
	return min(max(now.Sub(o.state.Since)/4, o.cfg.ProbeEvery), o.cfg.MaxProbeEvery)
}

// open pauses sending in this process at once, and everywhere once Run
// has stored it.
func (o *Outage) open(now time.Time, lastErr string) {
	o.state = OutageState{Since: now, PausedUntil: now.Add(o.cfg.ProbeEvery), LastError: lastErr}
	o.decided(&outageWrite{kind: writeOpen, at: storeTime(o.clock, now), wait: o.cfg.ProbeEvery, err: lastErr})
	o.log.Warn().Str("breaker", "api").Int("failures", o.failures).Str("error", lastErr).
		Dur("probe_every", o.cfg.ProbeEvery).
		Msg("API unreachable: sending paused on every instance, probing until it answers")
}

// probeFailed ends this process's probe without an API answer: the next
// probe, here or elsewhere, waits for wait.
func (o *Outage) probeFailed(now time.Time, wait time.Duration, lastErr string) {
	next := now.Add(wait)
	o.state.PausedUntil = next
	o.state.ProbeOwner, o.state.ProbeMine, o.state.ProbeUntil = "", false, time.Time{}
	if lastErr != "" {
		o.state.LastError = lastErr
	}
	o.decided(&outageWrite{kind: writeProbeFailed, at: storeTime(o.clock, now), wait: wait, err: lastErr})
	if lastErr == "" {
		o.log.Debug().Str("breaker", "api").Msg("API probe never reached the API; probing again")
		return
	}
	o.log.Info().Str("breaker", "api").Str("error", lastErr).Time("next_probe", next).
		Msg("API probe failed: sending stays paused")
}

func (o *Outage) resume(now time.Time) {
	since := o.state.Since
	o.state = OutageState{LastError: o.state.LastError}
	o.failures = 0
	o.decided(&outageWrite{kind: writeClose, at: storeTime(o.clock, now)})
	o.log.Info().Str("breaker", "api").Dur("paused_for", now.Sub(since)).
		Msg("API answers again: sending resumed on every instance")
}

// decided records a local decision for Run to store. The latest decision
// wins: each one leaves the shared state fully described.
func (o *Outage) decided(w *outageWrite) {
	o.write = w
	o.gen++
	signal(o.kick)
}

// Wait is how long the dispatcher may sleep before claiming could be
// allowed again: 0 while sending is allowed or a probe may go now, else
// until the next probe, bounded by Refresh so that a resume decided
// elsewhere is followed promptly.
func (o *Outage) Wait() time.Duration {
	if o == nil {
		return 0
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	st := o.state
	if !st.Paused() {
		return 0
	}
	now := o.clock.Now()
	if o.write != nil || (o.probeID != 0 && now.Before(o.probeDeadline)) {
		// Nothing may be claimed until Run has stored the decision or the
		// probe's verdict is in: look again at the next refresh.
		return o.cfg.Refresh
	}
	until := st.PausedUntil
	if !st.ProbeMine && st.ProbeOwner != "" && st.ProbeUntil.After(until) {
		until = st.ProbeUntil
	}
	return min(max(until.Sub(now), 0), o.cfg.Refresh)
}

// Paused reports whether sending is paused on every instance, and since
// when.
func (o *Outage) Paused() (since time.Time, paused bool) {
	if o == nil {
		return time.Time{}, false
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.state.Since, o.state.Paused()
}

// Err is the readiness check of the global pause: nil while the API
// answers, else an error wrapping ErrAPIPaused that says since when and
// why. Resting accounts do not make an instance unready: other accounts
// still send.
func (o *Outage) Err(context.Context) error {
	if o == nil {
		return nil
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.state.Paused() {
		return nil
	}
	return fmt.Errorf("%w since %s: %s", ErrAPIPaused, o.state.Since.UTC().Format(time.RFC3339), o.state.LastError)
}

// Outages counts the outages this process opened: summed over instances,
// the outages seen, each counted once.
func (o *Outage) Outages() int64 {
	if o == nil {
		return 0
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.outages
}

// Probes counts the probes this process sent.
func (o *Outage) Probes() int64 {
	if o == nil {
		return 0
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.probes
}

// RestingAccounts is how many accounts' circuit breakers were open at the
// last Refresh, across every instance.
func (o *Outage) RestingAccounts() int {
	if o == nil {
		return 0
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.resting.Count
}
