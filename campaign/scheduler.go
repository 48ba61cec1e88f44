package campaign

import (
	"context"
	"errors"
	"fmt"

	"github.com/rs/zerolog"
)

// Scheduler turns due campaigns into runs. Creating a run is safe to race:
// the store creates each firing's run once, and the losers do nothing.
type Scheduler struct {
	store RunStore
	clock Clock
	log   zerolog.Logger
}

// NewScheduler returns a scheduler over store.
func NewScheduler(store RunStore, clock Clock, log zerolog.Logger) *Scheduler {
	return &Scheduler{store: store, clock: clock, log: log}
}

// CreateDueRuns creates the runs of every campaign due now and returns them.
// A campaign that cannot be sent is marked invalid with the reason; its
// neighbours are unaffected.
func (s *Scheduler) CreateDueRuns(ctx context.Context) ([]Run, error) {
	due, err := s.store.DueOneShots(ctx, s.clock.Now())
	if err != nil {
		return nil, err
	}
	var runs []Run
	for _, c := range due {
		run, err := s.fire(ctx, c)
		if err != nil {
			return runs, err
		}
		if run != nil {
			runs = append(runs, *run)
		}
	}
	return runs, nil
}

// fire validates c and creates its run. It returns a nil run, and no error,
// when c is invalid or another process created the run first.
func (s *Scheduler) fire(ctx context.Context, c Campaign) (*Run, error) {
	log := s.log.With().Int64("campaign_id", c.ID).Str("campaign", c.Name).Logger()
	if _, err := Validate(c); err != nil {
		log.Warn().Str("error", err.Error()).Msg("campaign is invalid; marked invalid")
		if err := s.store.MarkInvalid(ctx, c.ID, err.Error()); err != nil {
			return nil, err
		}
		return nil, nil
	}
	run, err := s.store.CreateRun(ctx, c.ID, c.StartAt)
	if errors.Is(err, ErrRunExists) {
		log.Debug().Msg("run already created by another process")
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("fire campaign %d: %w", c.ID, err)
	}
	log.Info().Int64("run_id", run.ID).Int("recipients", run.Total).Int("skipped", run.Skipped).
		Time("scheduled_for", run.ScheduledFor).Msg("run created")
	return &run, nil
}
