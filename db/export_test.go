package db

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"
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
