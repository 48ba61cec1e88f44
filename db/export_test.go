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
