// Package db is broadcaster's PostgreSQL store, built on pgx. It implements
// campaign.Store. All SQL lives in this package's sql/ directory, embedded into
// the binary, and every operation runs in one transaction or one statement.
// pgx errors become domain errors (campaign.ErrRunExists, campaign.InvalidError)
// at this boundary.
package db

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/broadcaster/broadcaster/campaign"
)

// Open connects a pool to url and checks that the database answers, so a
// wrong URL fails at start-up rather than at the first query.
func Open(ctx context.Context, url string, maxConns int) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", err)
	}
	if maxConns > 0 {
		cfg.MaxConns = int32(maxConns)
	}
	cfg.ConnConfig.RuntimeParams["application_name"] = "broadcaster"
	// No JIT: broadcaster's statements are short, but some are costed by the
	// size of the tables they could touch (an EXISTS over every partition,
	// a page of runs' figures), which crosses jit_above_cost on a large
	// database; compiling them then took 60 to 600 ms of a statement that
	// runs in a few. Measured with BenchmarkPruneMonth and make console-cost.
	cfg.ConnConfig.RuntimeParams["jit"] = "off"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	return pool, nil
}

// Store implements campaign.Store on a pgx pool.
type Store struct {
	pool  *pgxpool.Pool
	owner string
}

var _ campaign.Store = (*Store)(nil)

// NewStore returns a store on pool. owner names this process in
// deliveries.claimed_by, so an operator can tell which instance holds what.
func NewStore(pool *pgxpool.Pool, owner string) *Store {
	return &Store{pool: pool, owner: owner}
}

// Pool returns the store's pool, for callers that run their own queries
// (reports, health checks).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }
