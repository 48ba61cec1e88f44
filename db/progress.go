package db

import (
	"context"
	_ "embed"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/broadcaster/broadcaster/campaign"
)

// The queries behind the progress log and the pending-deliveries metric.
var (
	//go:embed sql/progress_running_runs.sql
	runningRunsSQL string
	//go:embed sql/progress_run_summaries.sql
	runSummariesSQL string
	//go:embed sql/progress_pending_count.sql
	pendingCountSQL string
)

var _ campaign.ProgressStore = (*Store)(nil)

// RunningSummaries implements campaign.ProgressStore. It takes two queries,
// the running runs' ids and then their summaries, because the summaries view
// is only cheap when given run ids up front (see progress_running_runs.sql).
// A run that completes between the two is returned with its new status.
func (s *Store) RunningSummaries(ctx context.Context) ([]campaign.RunProgress, error) {
	rows, err := s.pool.Query(ctx, runningRunsSQL)
	if err != nil {
		return nil, fmt.Errorf("running runs: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("running runs: %w", err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	return s.RunSummaries(ctx, ids)
}

// RunSummaries implements campaign.ProgressStore.
func (s *Store) RunSummaries(ctx context.Context, runIDs []int64) ([]campaign.RunProgress, error) {
	if len(runIDs) == 0 {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, runSummariesSQL, pgx.NamedArgs{"runs": runIDs})
	if err != nil {
		return nil, fmt.Errorf("run summaries: %w", err)
	}
	runs, err := pgx.CollectRows(rows, scanRunProgress)
	if err != nil {
		return nil, fmt.Errorf("run summaries: %w", err)
	}
	return runs, nil
}

// scanRunProgress reads one row of progress_run_summaries.sql.
func scanRunProgress(row pgx.CollectableRow) (campaign.RunProgress, error) {
	var (
		r                 campaign.RunProgress
		status            string
		started, finished *time.Time
	)
	err := row.Scan(&r.RunID, &r.CampaignID, &r.CampaignName, &r.WID, &status, &r.ScheduledFor,
		&r.Total, &r.Sent, &r.Failed, &r.Unknown, &r.Pending, &r.Skipped, &r.Attempts, &started, &finished)
	if err != nil {
		return r, err
	}
	r.Status = campaign.RunStatus(status)
	if started != nil {
		r.StartedAt = *started
	}
	if finished != nil {
		r.FinishedAt = *finished
	}
	return r, nil
}

// PendingCount returns how many deliveries of active campaigns are pending
// or sending: the pending-deliveries gauge, read at each metrics scrape.
func (s *Store) PendingCount(ctx context.Context) (int64, error) {
	var n int64
	if err := s.pool.QueryRow(ctx, pendingCountSQL).Scan(&n); err != nil {
		return 0, fmt.Errorf("count pending deliveries: %w", err)
	}
	return n, nil
}
