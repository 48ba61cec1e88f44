package campaign

import (
	"context"
	"math"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// RunProgress is a run's counts (as campaign_run_summary has them) with what
// a progress or summary log line needs beyond them, so an operator reading
// the log sees which campaign, which account and how long without a query.
type RunProgress struct {
	RunSummary
	CampaignName string
	WID          string // the campaign's sending account now
	Status       RunStatus
	ScheduledFor time.Time
	StartedAt    time.Time // zero until the first delivery was claimed
	FinishedAt   time.Time // zero until the run completed or was cancelled
}

// Finished counts the deliveries that were sent to the end: sent, failed or
// unknown. Skipped ones are not, since they never cost a send; this is what
// progress rates are measured in.
func (r RunProgress) Finished() int { return r.Sent + r.Failed + r.Unknown }

// SuccessRate is sent / (total − skipped), the view's success_rate; ok is
// false when nothing in the run was sendable.
func (r RunProgress) SuccessRate() (rate float64, ok bool) {
	sendable := r.Total - r.Skipped
	if sendable <= 0 {
		return 0, false
	}
	return float64(r.Sent) / float64(sendable), true
}

// Duration is how long the run took from its first claim to its end; ok is
// false while either end is unknown.
func (r RunProgress) Duration() (d time.Duration, ok bool) {
	if r.StartedAt.IsZero() || r.FinishedAt.IsZero() {
		return 0, false
	}
	return max(r.FinishedAt.Sub(r.StartedAt), 0), true
}

// ProgressStore is what Progress reads. It is declared here, apart from
// Store, because only the progress log needs it.
type ProgressStore interface {
	// RunningSummaries returns the progress of every run whose status is
	// running, ordered by run id.
	RunningSummaries(ctx context.Context) ([]RunProgress, error)
	// RunSummaries returns the progress of the named runs, ordered by run
	// id; ids that name no run are left out.
	RunSummaries(ctx context.Context, runIDs []int64) ([]RunProgress, error)
}

// DefaultProgressEvery is how often Progress logs when not told otherwise:
// often enough to watch a run, rarely enough not to flood the log.
const DefaultProgressEvery = 5 * time.Second

// Progress logs what running runs are doing, so an operator tailing the log
// of a daemon or a cron job sees sends advance and when they should end, and
// a summary of every run that completes. It only reads: it never changes a
// run.
type Progress struct {
	store ProgressStore
	clock Clock
	log   zerolog.Logger
	every time.Duration

	mu   sync.Mutex
	last map[int64]progressSample // per running run, what the previous line saw
}

// progressSample is one observation of a run, the base of the next rate.
type progressSample struct {
	at       time.Time
	finished int
}

// NewProgress returns a progress logger reading store. clock times the
// rates (nil means the wall clock); every is the interval of Run (0 or less
// means DefaultProgressEvery).
func NewProgress(store ProgressStore, clock Clock, log zerolog.Logger, every time.Duration) *Progress {
	if clock == nil {
		clock = SystemClock{}
	}
	if every <= 0 {
		every = DefaultProgressEvery
	}
	return &Progress{store: store, clock: clock, log: log, every: every, last: map[int64]progressSample{}}
}

// Run logs the running runs' progress every interval until ctx ends. A
// failed read is logged and tried again at the next interval: progress lines
// are never worth stopping the process for.
func (p *Progress) Run(ctx context.Context) error {
	tick := time.NewTicker(p.every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			if err := p.LogRunning(ctx); err != nil && ctx.Err() == nil {
				p.log.Warn().Err(err).Msg("could not read run progress")
			}
		}
	}
}

// LogRunning logs one "run progress" line per running run now: what Run does
// at each interval, exported so a caller can log on its own schedule.
//
// The rate is deliveries finished per second since the previous line about
// the same run, or, on the first line, since the run started. The ETA is
// pending / rate, left out while the rate is 0 (a paused campaign, an
// account resting, a backoff).
func (p *Progress) LogRunning(ctx context.Context) error {
	runs, err := p.store.RunningSummaries(ctx)
	if err != nil {
		return err
	}
	now := p.clock.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	seen := make(map[int64]progressSample, len(runs))
	for _, r := range runs {
		if r.Status != RunRunning {
			continue // completed between the store's reads; Completed reports it
		}
		base, ok := p.last[r.RunID]
		if !ok && !r.StartedAt.IsZero() {
			base, ok = progressSample{at: r.StartedAt}, true
		}
		cur := progressSample{at: now, finished: r.Finished()}
		seen[r.RunID] = cur
		e := p.log.Info().Int64("run_id", r.RunID).Int64("campaign_id", r.CampaignID).
			Str("campaign", r.CampaignName).Str("w_id", r.WID).
			Int("total", r.Total).Int("sent", r.Sent).Int("failed", r.Failed).Int("unknown", r.Unknown).
			Int("pending", r.Pending).Int("skipped", r.Skipped)
		if elapsed := cur.at.Sub(base.at); ok && elapsed > 0 {
			rate := float64(max(cur.finished-base.finished, 0)) / elapsed.Seconds()
			e = e.Float64("rate", round(rate, 2))
			if rate > 0 {
				eta := time.Duration(float64(r.Pending) / rate * float64(time.Second))
				e = e.Str("eta", eta.Round(time.Second).String())
			}
		}
		e.Msg("run progress")
	}
	p.last = seen // runs no longer running are forgotten
	return nil
}

// Completed logs one "run summary" line per run in runIDs, for the runs the
// dispatcher reports completed: the final counts, attempts, how long the run
// took and its success rate. Ids that name no run are ignored.
func (p *Progress) Completed(ctx context.Context, runIDs []int64) error {
	if len(runIDs) == 0 {
		return nil
	}
	runs, err := p.store.RunSummaries(ctx, runIDs)
	if err != nil {
		return err
	}
	p.mu.Lock()
	for _, id := range runIDs {
		delete(p.last, id)
	}
	p.mu.Unlock()
	for _, r := range runs {
		e := p.log.Info().Int64("run_id", r.RunID).Int64("campaign_id", r.CampaignID).
			Str("campaign", r.CampaignName).Str("w_id", r.WID).Str("status", string(r.Status)).
			Int("total", r.Total).Int("sent", r.Sent).Int("failed", r.Failed).Int("unknown", r.Unknown).
			Int("skipped", r.Skipped).Int64("attempts", r.Attempts)
		if r.Pending > 0 {
			e = e.Int("pending", r.Pending) // only a cancelled run ends with some
		}
		if d, ok := r.Duration(); ok {
			e = e.Str("duration", d.Round(time.Millisecond).String())
		}
		if rate, ok := r.SuccessRate(); ok {
			e = e.Float64("success_rate", round(rate, 4))
		}
		e.Msg("run summary")
	}
	return nil
}

// DeliveryStore returns s with Record extended to log the summary of every
// run it completes, so the summaries need no change to the dispatcher. The
// summary is read after the write succeeded; a failed read is logged and
// never fails the write.
func (p *Progress) DeliveryStore(s DeliveryStore) DeliveryStore {
	return summarizingStore{DeliveryStore: s, p: p}
}

// summarizingStore is the decorator DeliveryStore returns; embedding the
// interface passes every other method through unchanged.
type summarizingStore struct {
	DeliveryStore
	p *Progress
}

// Record records results and then logs the summaries of the runs completed.
func (s summarizingStore) Record(ctx context.Context, results []Result) ([]int64, error) {
	completed, err := s.DeliveryStore.Record(ctx, results)
	if err == nil && len(completed) > 0 {
		if err := s.p.Completed(ctx, completed); err != nil {
			s.p.log.Warn().Err(err).Ints64("run_ids", completed).Msg("could not read the summary of completed runs")
		}
	}
	return completed, err
}

// round rounds v to n decimals, so log lines carry no float noise.
func round(v float64, n int) float64 {
	p := math.Pow(10, float64(n))
	return math.Round(v*p) / p
}
