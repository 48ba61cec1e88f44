package db

import (
	"context"
	_ "embed"
	"fmt"

	"github.com/broadcaster/broadcaster/campaign"
)

var (
	//go:embed sql/demo_seed.sql
	demoSeedSQL string
	//go:embed sql/run_summary.sql
	runSummarySQL string
)

// DemoSeed is what `broadcaster demo` inserts: the rows an operator would.
type DemoSeed struct {
	TemplateName, ImgURL, Content string
	ListName                      string
	Members, Suppressed, Inline   []string
	WID, CampaignName             string
}

// SeedDemo inserts a demo's template, list, suppressions and campaign in one
// statement and returns the campaign's id.
func (s *Store) SeedDemo(ctx context.Context, d DemoSeed) (int64, error) {
	var id int64
	err := s.pool.QueryRow(ctx, demoSeedSQL, d.TemplateName, d.ImgURL, d.Content, d.ListName,
		d.Members, d.Suppressed, d.Inline, d.WID, d.CampaignName).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("seed demo: %w", err)
	}
	return id, nil
}

// RunSummary returns one run's counts from campaign_run_summary.
func (s *Store) RunSummary(ctx context.Context, runID int64) (campaign.RunSummary, error) {
	var r campaign.RunSummary
	err := s.pool.QueryRow(ctx, runSummarySQL, runID).Scan(&r.RunID, &r.CampaignID, &r.Total, &r.Sent,
		&r.Failed, &r.Unknown, &r.Pending, &r.Skipped, &r.Attempts)
	if err != nil {
		return r, fmt.Errorf("summary of run %d: %w", runID, notFound(err))
	}
	return r, nil
}

// ReportRunsSQL is the query behind ReportRuns, for showing operators the
// SQL that produced a report.
func ReportRunsSQL() string { return reportRunsSQL }
