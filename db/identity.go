package db

import (
	"context"
	_ "embed"
	"fmt"
)

//go:embed sql/database_identity.sql
var databaseIdentitySQL string

// Identity names the database the store writes to, the same across
// restarts, reconnections and a failover to a standby, and different for
// any other database (another cluster, or another database of this one).
// The results journal records it, so that it is never replayed elsewhere.
func (s *Store) Identity(ctx context.Context) (string, error) {
	var id string
	if err := s.pool.QueryRow(ctx, databaseIdentitySQL).Scan(&id); err != nil {
		return "", fmt.Errorf("database identity: %w", err)
	}
	return id, nil
}
