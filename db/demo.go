package db

import (
	"context"
	_ "embed"
	"fmt"
)

var (
	//go:embed sql/demo_seed.sql
	demoSeedSQL string
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

// ReportRunsSQL is the query behind ReportRuns, for showing operators the
// SQL that produced a report.
func ReportRunsSQL() string { return reportRunsSQL }
