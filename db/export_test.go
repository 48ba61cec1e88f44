package db

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/broadcaster/broadcaster/campaign"
)

// MigrateTo applies the migrations up to version, leaving the database as a
// release of that schema version left it.
func MigrateTo(ctx context.Context, pool *pgxpool.Pool, version int) error {
	ms, err := Migrations()
	if err != nil {
		return err
	}
	return migrateTo(ctx, pool, ms[:version])
}

// ClaimStatement is the claim's SQL and arguments, for tests that look at
// what it reads (EXPLAIN ANALYZE).
func (s *Store) ClaimStatement(p campaign.ClaimParams) (string, pgx.NamedArgs) {
	return claimSQL, s.claimArgs(p)
}

// FanOutStatement is the fan-out's SQL and arguments for run of campaign,
// for benchmarks that time it inside a transaction of their own.
func FanOutStatement(campaignID, runID int64) (string, pgx.NamedArgs) {
	return insertDeliveriesSQL, fanOutArgs(campaignID, runID)
}

// AnalyzeMinRows is the fan-out's floor for asking for an analysis, which
// must be broadcaster_analyze_run's own.
const AnalyzeMinRows = analyzeMinRows
