package campaign

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"github.com/sourcegraph/conc/panics"
	"github.com/sourcegraph/conc/pool"
)

// Notes stored in campaign_runs.note on the cancelled run that records a
// firing the scheduler skipped, so operators can see why in SQL and no
// instance creates the firing later.
const (
	// NoteStillSending marks a firing that came while the campaign's
	// previous run still had deliveries pending or sending.
	NoteStillSending = "skipped: the previous run was still sending"
	// NoteMissed marks the latest of the firings missed by more than
	// scheduler.misfire_grace (the daemon was down, or the campaign
	// paused); the older ones are only logged.
	NoteMissed = "skipped: missed by more than scheduler.misfire_grace"
)

// Scheduler defaults (SPEC §8), also the configuration's, and the
// dispatcher's poll interval.
const (
	DefaultMisfireGrace = time.Hour
	DefaultPollInterval = 5 * time.Second
)

// RecurringCampaign is a recurring campaign as the store sees it at a
// moment: enough for the scheduler to work out its next firing.
type RecurringCampaign struct {
	Campaign
	// LastFiring is the scheduled_for of the campaign's latest run, of any
	// status (a skipped firing counts); zero when it has none.
	LastFiring time.Time
	// Sending says an open run still has deliveries pending or sending: a
	// firing now would overlap it, and is skipped.
	Sending bool
}

// SchedulerOption configures a Scheduler. Options exist, rather than a
// config struct, because a zero misfire grace is a meaningful setting.
type SchedulerOption func(*Scheduler)

// WithTimezone sets the zone of schedules without a CRON_TZ= prefix
// (scheduler.timezone). The default is Local.
func WithTimezone(loc *time.Location) SchedulerOption {
	return func(s *Scheduler) {
		if loc != nil {
			s.loc = loc
		}
	}
}

// WithMisfireGrace sets how old a firing may be and still be run
// (scheduler.misfire_grace, default 1h). A firing is never treated as missed
// before two poll intervals have passed, so a grace of 0 turns off catching
// up after an outage, not firing on time.
func WithMisfireGrace(d time.Duration) SchedulerOption {
	return func(s *Scheduler) { s.grace = max(d, 0) }
}

// WithPollInterval sets how often Run ticks without being woken
// (scheduler.poll_interval, default 5s).
func WithPollInterval(d time.Duration) SchedulerOption {
	return func(s *Scheduler) {
		if d > 0 {
			s.poll = d
		}
	}
}

// WithOnRuns sets a function Tick calls with the runs it created, e.g. the
// dispatcher's Wake, so that sending starts without waiting for a poll. It
// runs on the ticking goroutine and must not block.
func WithOnRuns(fn func([]Run)) SchedulerOption {
	return func(s *Scheduler) { s.onRuns = fn }
}

// Scheduler turns due campaigns into runs, carries out cancellations and
// completes recurring campaigns that have ended. Every decision is safe to
// race with other instances: the store creates (or skips) each firing once,
// and the losers do nothing.
type Scheduler struct {
	store  RunStore
	clock  Clock
	log    zerolog.Logger
	loc    *time.Location
	grace  time.Duration
	poll   time.Duration
	onRuns func([]Run)

	wake     chan struct{}
	lastTick atomic.Pointer[time.Time]
}

// NewScheduler returns a scheduler over store.
func NewScheduler(store RunStore, clock Clock, log zerolog.Logger, opts ...SchedulerOption) *Scheduler {
	s := &Scheduler{
		store: store, clock: clock, log: log,
		loc: time.Local, grace: DefaultMisfireGrace, poll: DefaultPollInterval,
		wake: make(chan struct{}, 1),
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// misfireGrace is the grace in effect: never under two poll intervals, the
// lateness of a firing caught on time.
func (s *Scheduler) misfireGrace() time.Duration { return max(s.grace, 2*s.poll) }

// Wake asks Run for a tick now (a campaign was inserted or changed). It
// never blocks; wake-ups that come during a tick make one more tick.
func (s *Scheduler) Wake() { signal(s.wake) }

// LastTick returns when the last tick that fully succeeded ended, or the
// zero time before the first: /healthz reports a scheduler that stopped
// ticking. It is safe for concurrent use.
func (s *Scheduler) LastTick() time.Time {
	if t := s.lastTick.Load(); t != nil {
		return *t
	}
	return time.Time{}
}

// Run ticks every poll interval and whenever woken, until ctx ends; then it
// returns nil. A failed tick is logged and tried again at the next: the
// daemon outlives a database restart.
func (s *Scheduler) Run(ctx context.Context) error {
	for ctx.Err() == nil {
		s.safeTick(ctx)
		t := time.NewTimer(s.poll)
		select {
		case <-ctx.Done():
		case <-s.wake:
		case <-t.C:
		}
		t.Stop()
	}
	return nil
}

// safeTick is Tick for Run: errors and panics are logged, never returned.
func (s *Scheduler) safeTick(ctx context.Context) {
	var pc panics.Catcher
	var err error
	pc.Try(func() { err = s.Tick(ctx) })
	if r := pc.Recovered(); r != nil {
		s.log.Error().Str("panic", fmt.Sprint(r.Value)).Str("stack", string(r.Stack)).
			Msg("panic in scheduler tick; trying again at the next")
		return
	}
	if err != nil && ctx.Err() == nil {
		s.log.Error().Err(err).Msg("scheduler tick failed; trying again at the next")
	}
}

// Tick is one pass of the scheduler: carry out cancellations, complete the
// recurring campaigns that have ended, create the runs due, and hand them to
// the OnRuns function. A failing step does not stop the others; the error
// joins theirs. LastTick moves only when every step succeeded.
func (s *Scheduler) Tick(ctx context.Context) error {
	var errs []error
	if deliveries, runs, err := s.store.CancelCampaigns(ctx); err != nil {
		errs = append(errs, err)
	} else if deliveries > 0 || runs > 0 {
		s.log.Info().Int("deliveries_skipped", deliveries).Int("runs_cancelled", runs).
			Msg("cancelled campaigns: pending deliveries skipped, open runs cancelled")
	}
	// A recurring campaign completes once its last firing can no longer be
	// caught up: end_at older than the grace. Completing it sooner could
	// race an instance about to create that firing's run.
	if ids, err := s.store.CompleteEnded(ctx, s.clock.Now().Add(-s.misfireGrace())); err != nil {
		errs = append(errs, err)
	} else {
		for _, id := range ids {
			s.log.Info().Int64("campaign_id", id).Msg("recurring campaign completed: end_at passed and its last run is done")
		}
	}
	runs, err := s.CreateDueRuns(ctx)
	if len(runs) > 0 && s.onRuns != nil {
		s.onRuns(runs)
	}
	if err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	now := s.clock.Now()
	s.lastTick.Store(&now)
	return nil
}

// CreateDueRuns creates the runs of every campaign due now and returns them:
// one-shot campaigns whose start_at has come, and the latest firing of each
// recurring campaign when it is within the misfire grace. A campaign whose
// row cannot be understood or sent is marked invalid with the reason; its
// neighbours are unaffected, and so are they by a failure to create its run
// (the errors are joined).
func (s *Scheduler) CreateDueRuns(ctx context.Context) ([]Run, error) {
	now := s.clock.Now()
	var (
		runs []Run
		errs []error
	)
	keep := func(run *Run, err error) bool {
		if run != nil {
			runs = append(runs, *run)
		}
		if err != nil {
			errs = append(errs, err)
		}
		return ctx.Err() == nil
	}
	oneShots, err := s.store.DueOneShots(ctx, now)
	if !keep(nil, err) {
		return runs, errors.Join(errs...)
	}
	if !fireEach(ctx, oneShots, s.fireOneShot, keep) {
		return runs, errors.Join(errs...)
	}
	recurring, err := s.store.DueRecurring(ctx, now)
	if !keep(nil, err) {
		return runs, errors.Join(errs...)
	}
	fireEach(ctx, recurring, func(ctx context.Context, row RecurringRow) (*Run, error) {
		return s.fireRecurring(ctx, row, now)
	}, keep)
	return runs, errors.Join(errs...)
}

// fireConcurrency is how many runs CreateDueRuns creates at once. A night
// of a thousand one-shot campaigns, one per account, made one after another
// at about 1.4 ms each, started its last accounts 1.4 s after its first;
// PostgreSQL does the fan-outs, and a few at a time keep its cores busy.
const fireConcurrency = 4

// fireEach calls fire for every row, fireConcurrency at a time, and hands
// each outcome to keep, one at a time. It starts no more once ctx has ended,
// and reports whether it has not.
func fireEach[R any](ctx context.Context, rows []R, fire func(context.Context, R) (*Run, error), keep func(*Run, error) bool) bool {
	var mu sync.Mutex
	p := pool.New().WithMaxGoroutines(fireConcurrency)
	for _, row := range rows {
		if ctx.Err() != nil {
			break
		}
		p.Go(func() {
			if ctx.Err() != nil {
				return
			}
			run, err := fire(ctx, row)
			mu.Lock()
			defer mu.Unlock()
			keep(run, err)
		})
	}
	p.Wait()
	return ctx.Err() == nil
}

// fireOneShot creates the run of a due one-shot campaign, or marks it
// invalid.
func (s *Scheduler) fireOneShot(ctx context.Context, row CampaignRow) (*Run, error) {
	c, err := understand(s, row.ID, row.Name, row.Campaign)
	if err != nil {
		return nil, s.markInvalid(ctx, row.ID, row.Name, err)
	}
	return s.fire(ctx, c, c.StartAt)
}

// fire validates c and creates the run of its firing at. It returns a nil
// run, and no error, when c is invalid or another process created the run
// first.
func (s *Scheduler) fire(ctx context.Context, c Campaign, at time.Time) (*Run, error) {
	log := s.campaignLog(c.ID, c.Name)
	if _, err := understand(s, c.ID, c.Name, func() (*Prepared, error) { return Validate(c) }); err != nil {
		return nil, s.markInvalid(ctx, c.ID, c.Name, err)
	}
	run, err := s.store.CreateRun(ctx, c.ID, at)
	if errors.Is(err, ErrRunExists) {
		log.Debug().Time("scheduled_for", at).Msg("run already created by another process")
		return nil, nil
	}
	if IsInvalid(err) {
		return nil, s.markInvalid(ctx, c.ID, c.Name, err) // a value the store could not hold
	}
	if err != nil {
		return nil, err // the store's error names the campaign
	}
	lag := s.clock.Now().Sub(at) // from the firing to its run's creation
	log.Debug().Int64("run_id", run.ID).Time("scheduled_for", at).Dur("lag", lag).Msg("scheduler lag")
	log.Info().Int64("run_id", run.ID).Int("recipients", run.Total).Int("skipped", run.Skipped).
		Time("scheduled_for", run.ScheduledFor).Dur("lag", lag).Msg("run created")
	return &run, nil
}

// fireRecurring does what decide says for one recurring campaign: create a
// run, record a skipped firing, or nothing; or it marks the campaign
// invalid.
func (s *Scheduler) fireRecurring(ctx context.Context, row RecurringRow, now time.Time) (*Run, error) {
	var rc RecurringCampaign
	d, err := understand(s, row.ID, row.Name, func() (decision, error) {
		var err error
		if rc, err = row.Recurring(); err != nil {
			return decision{}, err
		}
		return decide(rc, now, s.loc, s.misfireGrace())
	})
	if err != nil {
		return nil, s.markInvalid(ctx, row.ID, row.Name, err)
	}
	log := s.campaignLog(rc.ID, rc.Name)
	switch d.action {
	case actCreate:
		run, err := s.fire(ctx, rc.Campaign, d.at)
		if run != nil {
			s.logMissed(log, d.plan)
		}
		return run, err
	case actSkip:
		err := s.store.SkipFiring(ctx, rc.ID, d.at, d.note)
		if errors.Is(err, ErrRunExists) {
			log.Debug().Time("scheduled_for", d.at).Msg("firing already handled by another process")
			return nil, nil
		}
		if err != nil {
			return nil, err // the store's error names the campaign
		}
		if d.note == NoteStillSending {
			log.Warn().Time("scheduled_for", d.at).Msg("firing skipped: the previous run is still sending")
		}
		s.logMissed(log, d.plan)
	}
	return nil, nil
}

// logMissed writes the one line that reports missed firings.
func (s *Scheduler) logMissed(log zerolog.Logger, p Plan) {
	if p.Missed == 0 {
		return
	}
	e := log.Warn().Int("missed", p.Missed).Bool("at_least", p.MissedAtLeast).
		Time("first", p.FirstMissed).Time("last", p.LastMissed).Dur("misfire_grace", s.misfireGrace())
	if !p.Fire.IsZero() {
		e = e.Time("caught_up", p.Fire)
	}
	e.Msg("missed firings skipped, not replayed")
}

// understand runs fn, which reads the row of campaign id without side
// effects, and turns a panic into an *InvalidError: a value no rule foresaw
// makes its own campaign invalid instead of failing every tick, and with it
// the scheduling of every other campaign and the health check.
func understand[T any](s *Scheduler, id int64, name string, fn func() (T, error)) (v T, err error) {
	var pc panics.Catcher
	pc.Try(func() { v, err = fn() })
	if r := pc.Recovered(); r != nil {
		log := s.campaignLog(id, name)
		log.Error().Str("panic", fmt.Sprint(r.Value)).Str("stack", string(r.Stack)).
			Msg("panic while reading a campaign; marking it invalid")
		return v, &InvalidError{
			Problem: shorten(fmt.Sprintf("broadcaster cannot read this campaign (panic: %v)", r.Value), maxProblemRunes),
			Fix:     "report it as a bug, with the row; correct or cancel the campaign meanwhile",
		}
	}
	return v, err
}

// markInvalid marks campaign id invalid for reason, as CampaignRow.Campaign,
// Validate, decide or the store found it.
func (s *Scheduler) markInvalid(ctx context.Context, id int64, name string, reason error) error {
	log := s.campaignLog(id, name)
	e := log.Warn().Str("error", reason.Error())
	var ie *InvalidError
	if errors.As(reason, &ie) && ie.Column != "" {
		e = e.Str("column", ie.Column)
	}
	e.Msg("campaign is invalid; marked invalid")
	return s.store.MarkInvalid(ctx, id, reason.Error())
}

// logNameRunes bounds the campaign name in log lines: a name is free text,
// and a megabyte of it must not go into every line about the campaign.
const logNameRunes = 200

func (s *Scheduler) campaignLog(id int64, name string) zerolog.Logger {
	return s.log.With().Int64("campaign_id", id).Str("campaign", shorten(name, logNameRunes)).Logger()
}

// action is what the scheduler does for a recurring campaign at a tick.
type action int

const (
	actNone   action = iota
	actCreate        // create the run of the firing
	actSkip          // record the firing as skipped (a cancelled run)
)

// decision is decide's answer: an action, the firing it applies to, the
// note of a skip, and the plan behind it, for logging.
type decision struct {
	action action
	at     time.Time
	note   string
	plan   Plan
}

// decide works out what a recurring campaign does at now, with loc the zone
// of schedules without a prefix and grace the misfire grace in effect. It
// is a pure function, so that every rule is tested without a clock or a
// database. Its error says why the campaign is invalid.
func decide(rc RecurringCampaign, now time.Time, loc *time.Location, grace time.Duration) (decision, error) {
	sch, err := parseCampaignSchedule(rc.Campaign, loc)
	if err != nil {
		return decision{}, err
	}
	p := sch.Plan(now, rc.StartAt, rc.EndAt, rc.LastFiring, grace)
	d := decision{plan: p}
	switch {
	case !p.Fire.IsZero() && rc.Sending:
		d.action, d.at, d.note = actSkip, p.Fire, NoteStillSending
	case !p.Fire.IsZero():
		d.action, d.at = actCreate, p.Fire
	case p.Missed > 0:
		d.action, d.at, d.note = actSkip, p.LastMissed, NoteMissed
	case sch.exhausted(rc.StartAt, later(now, rc.LastFiring)):
		return decision{}, invalidColumn("schedule", fixSchedule, "schedule %s never fires again", Quote(rc.Schedule))
	}
	return d, nil
}

// parseCampaignSchedule parses c's schedule, or says why c is invalid.
func parseCampaignSchedule(c Campaign, loc *time.Location) (*Schedule, error) {
	s, err := ParseSchedule(c.Schedule, loc)
	if err != nil {
		return nil, invalidColumn("schedule", fixSchedule, "schedule %s: %s", Quote(c.Schedule), shorten(err.Error(), 200))
	}
	return s, nil
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
