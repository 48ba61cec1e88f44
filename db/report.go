package db

import (
	"context"
	_ "embed"
	"fmt"

	"github.com/jackc/pgx/v5"
)

var (
	//go:embed sql/report_runs.sql
	reportRunsSQL string
	//go:embed sql/report_deliveries.sql
	reportDeliveriesSQL string
)

// Table is a query result as the report command prints it: column names as
// the database names them, and values as pgx decodes them (int64 stays
// int64, so 64-bit ids reach JSON exactly).
type Table struct {
	Columns []string
	Rows    [][]any
}

// ReportRuns returns campaign_run_summary rows, all of them or those of one
// campaign or one run (a nil filter matches everything).
func (s *Store) ReportRuns(ctx context.Context, campaignID, runID *int64) (Table, error) {
	t, err := s.table(ctx, reportRunsSQL, pgx.NamedArgs{"campaign_id": campaignID, "run_id": runID})
	if err != nil {
		return t, fmt.Errorf("report runs: %w", err)
	}
	return t, nil
}

// ReportDeliveries returns every delivery of one run.
func (s *Store) ReportDeliveries(ctx context.Context, runID int64) (Table, error) {
	t, err := s.table(ctx, reportDeliveriesSQL, pgx.NamedArgs{"run_id": runID})
	if err != nil {
		return t, fmt.Errorf("report deliveries of run %d: %w", runID, err)
	}
	return t, nil
}

func (s *Store) table(ctx context.Context, sql string, args pgx.NamedArgs) (Table, error) {
	rows, err := s.pool.Query(ctx, sql, args)
	if err != nil {
		return Table{}, err
	}
	defer rows.Close()
	var t Table
	for _, f := range rows.FieldDescriptions() {
		t.Columns = append(t.Columns, f.Name)
	}
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return Table{}, err
		}
		t.Rows = append(t.Rows, vals)
	}
	return t, rows.Err()
}
