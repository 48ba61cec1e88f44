package main

import (
	"context"
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/broadcaster/broadcaster/campaign"
	"github.com/broadcaster/broadcaster/db"
)

func runMigrate(ctx context.Context, a *app, args []string) error {
	fs := a.flags("migrate", "[--status]")
	status := fs.Bool("status", false, "list the applied and pending migrations, change nothing")
	if err := a.parse(fs, args); err != nil {
		return err
	}
	pool, err := a.openDB(ctx)
	if err != nil {
		return err
	}
	defer pool.Close()
	if *status {
		return printMigrations(ctx, a, pool)
	}
	if err := db.Migrate(ctx, pool); err != nil {
		if errors.Is(err, db.ErrMigrationEdited) {
			return fmt.Errorf("%w; fix: %s", err, schemaFix(err))
		}
		return err
	}
	v, err := db.SchemaVersion(ctx, pool)
	if err != nil {
		return err
	}
	a.log.Info().Int("schema_version", v).Msg("database migrated")
	return nil
}

// printMigrations prints one line per migration: its version, file, state
// and when it was applied. A newer binary's migrations show as "applied
// (newer binary)", and say whether this binary must refuse the database.
func printMigrations(ctx context.Context, a *app, pool *pgxpool.Pool) error {
	st, err := db.MigrationsStatus(ctx, pool)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "VERSION\tMIGRATION\tSTATE\tAPPLIED AT")
	for _, s := range st {
		at := ""
		if s.Applied {
			at = s.AppliedAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\n", s.Version, s.Name, migrationState(s), at)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if err := db.CheckSchema(ctx, pool); err != nil && !errors.Is(err, db.ErrSchemaBehind) {
		return err
	}
	if !partitioned(st) {
		return nil
	}
	return printPartitions(ctx, a, db.NewStore(pool, owner()))
}

// partitioned reports whether the migration that partitions deliveries is
// applied, so that there are partitions to list.
func partitioned(st []db.MigrationStatus) bool {
	for _, s := range st {
		if s.Version == db.PartitionsVersion && s.Applied {
			return true
		}
	}
	return false
}

// printPartitions lists the partitions of deliveries and delivery_attempts
// after the migrations: what prune may drop, and how far ahead they go.
func printPartitions(ctx context.Context, a *app, store *db.Store) error {
	ps, err := store.Partitions(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintln(a.stdout)
	w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "PARTITION\tKIND\tRUNS CREATED\tOPEN RUNS")
	for _, p := range ps {
		fmt.Fprintf(w, "%s\t%s\t%s\t%d\n", p.Deliveries, p.Kind, partitionRange(p), p.OpenRuns)
	}
	return w.Flush()
}

// partitionRange says which runs' deliveries a partition holds.
func partitionRange(p campaign.Partition) string {
	switch p.Kind {
	case campaign.PartitionDefault:
		return fmt.Sprintf("of months without a partition (%d rows)", p.Waiting)
	case campaign.PartitionLegacy:
		return "runs from before partitioning (migration 0008)"
	default:
		return p.From.UTC().Format(time.DateOnly) + " to " + p.To.UTC().Format(time.DateOnly)
	}
}

func migrationState(s db.MigrationStatus) string {
	switch {
	case s.Edited:
		return "EDITED since applied"
	case !s.Known && s.BreaksOlder:
		return "applied (newer binary; this one must not run)"
	case !s.Known:
		return "applied (newer binary; compatible)"
	case s.Applied:
		return "applied"
	default:
		return "pending"
	}
}

// schemaFix is the one-line fix for a database this binary refuses.
func schemaFix(err error) string {
	switch {
	case errors.Is(err, db.ErrNoSchema), errors.Is(err, db.ErrSchemaBehind):
		return "run `broadcaster migrate`"
	case errors.Is(err, db.ErrSchemaAhead):
		return "run the broadcaster version that migrated it, or a later one"
	case errors.Is(err, db.ErrMigrationEdited):
		return "restore the migration file as it was applied; put changes in a new migration"
	default:
		return "check that the database role may read the broadcaster tables"
	}
}
