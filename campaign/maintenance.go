package campaign

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"
)

// PruneResult is what became of one partition in a prune.
type PruneResult struct {
	PruneVerdict
	// Dropped is true once the pair is gone, by this prune or, with Gone,
	// by another process's.
	Dropped bool
	// Gone says another process dropped the pair first.
	Gone    bool
	Archive Archive
}

// PruneRequest says what a prune does.
type PruneRequest struct {
	// OlderThan is the age beyond which partitions go; at least
	// MinRetention.
	OlderThan time.Duration
	// ArchiveDir, when set, is where each pair is written (gzip CSV and a
	// manifest) before it is dropped.
	ArchiveDir string
	// DryRun plans and reports without changing anything.
	DryRun bool
}

// ErrRetentionTooShort reports a prune age under MinRetention.
var ErrRetentionTooShort = errors.New("retention shorter than one day")

// MaintenanceConfig configures Maintenance.
type MaintenanceConfig struct {
	// PruneAfter is retention.prune_after: 0 never prunes.
	PruneAfter time.Duration
	// ArchiveDir is retention.archive_dir.
	ArchiveDir string
	// Every is the interval between passes; 0 means DefaultMaintenanceEvery.
	Every time.Duration
	// RetryAfter is how soon a failed pass is tried again, at most Every;
	// 0 means DefaultMaintenanceRetry.
	RetryAfter time.Duration
	// MonthsAhead is how many months ahead partitions are kept ready; 0
	// means DefaultMonthsAhead.
	MonthsAhead int
}

// Maintenance keeps the partitioned tables in shape: partitions created
// ahead, and, when retention is on, old ones pruned. The daemon runs it; the
// prune command calls Prune once. Several instances may run it at once: the
// database functions are idempotent and take locks, and a partition another
// instance dropped first counts as dropped.
type Maintenance struct {
	store PartitionStore
	clock Clock
	log   zerolog.Logger
	cfg   MaintenanceConfig
}

// NewMaintenance returns the service; a nil clock is the wall clock.
func NewMaintenance(store PartitionStore, clock Clock, log zerolog.Logger, cfg MaintenanceConfig) *Maintenance {
	if clock == nil {
		clock = SystemClock{}
	}
	if cfg.Every <= 0 {
		cfg.Every = DefaultMaintenanceEvery
	}
	if cfg.MonthsAhead <= 0 {
		cfg.MonthsAhead = DefaultMonthsAhead
	}
	if cfg.RetryAfter <= 0 {
		cfg.RetryAfter = DefaultMaintenanceRetry
	}
	cfg.RetryAfter = min(cfg.RetryAfter, cfg.Every)
	return &Maintenance{store: store, clock: clock, log: log, cfg: cfg}
}

// Run makes a pass at once and then every interval until ctx ends. A failed
// pass is logged and tried again after RetryAfter: maintenance is never
// worth stopping the sending for, and the DEFAULT partition catches rows
// meanwhile.
func (m *Maintenance) Run(ctx context.Context) error {
	for {
		wait := m.cfg.Every
		if err := m.Pass(ctx); err != nil && ctx.Err() == nil {
			wait = m.cfg.RetryAfter
			m.log.Warn().Err(err).Dur("retry_in", wait).Msg("partition maintenance failed; trying again soon")
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// Pass creates the partitions ahead and, when retention.prune_after is set,
// prunes what is older, logging what it did.
func (m *Maintenance) Pass(ctx context.Context) error {
	now := storeNow(m.clock)
	created, err := m.store.EnsurePartitions(ctx, now, m.cfg.MonthsAhead)
	if err != nil {
		return fmt.Errorf("create partitions ahead: %w", err)
	}
	if created > 0 {
		m.log.Info().Int("created", created).Int("months_ahead", m.cfg.MonthsAhead).Msg("partitions created ahead")
	}
	if m.cfg.PruneAfter <= 0 {
		return nil
	}
	results, err := m.Prune(ctx, PruneRequest{OlderThan: m.cfg.PruneAfter, ArchiveDir: m.cfg.ArchiveDir})
	for _, r := range results {
		switch {
		case r.Gone:
			m.log.Info().Str("partition", r.Deliveries).Msg("partition already pruned by another instance")
		case r.Dropped:
			m.log.Info().Str("partition", r.Deliveries).Str("archive", r.Archive.Dir).
				Int64("deliveries", r.Archive.Deliveries).Int64("attempts", r.Archive.Attempts).Msg("partition pruned")
		case r.OpenRuns > 0:
			m.log.Info().Str("partition", r.Deliveries).Str("why", r.Reason).Msg("old partition kept")
		}
	}
	return err
}

// Prune drops every pair that PlanPrune lets go, oldest first, archiving
// each first when req.ArchiveDir is set, and returns a result for every
// partition, kept ones included. It stops at the first failure, returning
// the results so far: what failed was not dropped, and what follows waits for
// the next prune.
func (m *Maintenance) Prune(ctx context.Context, req PruneRequest) ([]PruneResult, error) {
	if req.OlderThan < MinRetention {
		return nil, fmt.Errorf("prune partitions: %w (got %s)", ErrRetentionTooShort, req.OlderThan)
	}
	readAt, parts, err := m.store.Partitions(ctx, storeNow(m.clock))
	if err != nil {
		return nil, fmt.Errorf("prune partitions: %w", err)
	}
	verdicts := PlanPrune(parts, readAt, req.OlderThan)
	results := make([]PruneResult, 0, len(verdicts))
	for _, v := range verdicts {
		r := PruneResult{PruneVerdict: v}
		if v.Drop && !req.DryRun {
			if err := m.drop(ctx, &r, req.ArchiveDir); err != nil {
				return append(results, r), fmt.Errorf("prune partition %s: %w", v.Deliveries, err)
			}
		}
		results = append(results, r)
	}
	return results, nil
}

// drop drops one pair, reading the harmless outcomes of a race with another
// instance into r rather than failing.
func (m *Maintenance) drop(ctx context.Context, r *PruneResult, archiveDir string) error {
	a, err := m.store.DropPartition(ctx, r.Partition, archiveDir)
	switch {
	case errors.Is(err, ErrPartitionGone):
		r.Dropped, r.Gone, r.Reason = true, true, "already dropped by another process"
	case errors.Is(err, ErrPartitionInUse):
		r.Drop, r.Reason = false, "an open run appeared; kept"
	case err != nil:
		r.Drop, r.Reason = false, "failed: "+err.Error()
		return err
	default:
		r.Dropped, r.Archive = true, a
	}
	return nil
}
