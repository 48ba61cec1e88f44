package db

import (
	"context"
	_ "embed"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/broadcaster/broadcaster/campaign"
)

// The partitions' SQL (migration 0008 holds the functions it calls).
var (
	//go:embed sql/ensure_partitions.sql
	ensurePartitionsSQL string
	//go:embed sql/partitions.sql
	partitionsSQL string
)

// PartitionsVersion is the migration that partitions deliveries and
// delivery_attempts: before it is applied there are no partitions to list.
const PartitionsVersion = 8

// PartitionsAhead is how many months after the current one `migrate` keeps
// partitioned: a run created in a month without a partition lands in the
// DEFAULT partition, which works but defeats retention by month.
const PartitionsAhead = campaign.DefaultMonthsAhead

// Partition kinds, as broadcaster_partitions names them.
const (
	PartitionLegacy  = "legacy"  // the tables from before partitioning
	PartitionMonth   = "month"   // one UTC calendar month
	PartitionDefault = "default" // rows of a month without a partition
)

// Partition is one pair of partitions of deliveries and delivery_attempts
// that hold the same range of run_created_at.
type Partition struct {
	Deliveries string // e.g. deliveries_p2026_12
	Attempts   string // e.g. delivery_attempts_p2026_12
	Kind       string // PartitionLegacy, PartitionMonth or PartitionDefault
	// From and To bound the runs' creation times, [From, To). From is zero
	// for the legacy partition (-infinity); both are zero for the default.
	From, To time.Time
	// OpenRuns counts the runs still pending or running with deliveries
	// here: a partition that has any is never dropped.
	OpenRuns int64
	// Waiting counts the rows (deliveries and attempts) in the default
	// partition; 0 for the others.
	Waiting int64
	// Sealed is set once a prune has sealed the pair (its rows no longer
	// change): the drop that follows removes it, so a pair that stays
	// sealed is a prune that failed between the two.
	Sealed bool
}

// EnsurePartitions creates the missing monthly partitions from the month of
// now (zero: the database's clock) to monthsAhead months later, and returns
// how many months it created. Safe to call from several instances at once.
func (s *Store) EnsurePartitions(ctx context.Context, now time.Time, monthsAhead int) (int, error) {
	return ensurePartitions(ctx, s.pool, now, monthsAhead)
}

func ensurePartitions(ctx context.Context, q querier, now time.Time, monthsAhead int) (int, error) {
	var n int
	rows, err := q.Query(ctx, ensurePartitionsSQL, pgx.NamedArgs{"now": timeOrNull(now), "months_ahead": monthsAhead})
	if err == nil {
		n, err = pgx.CollectExactlyOneRow(rows, pgx.RowTo[int])
	}
	if err != nil {
		return 0, fmt.Errorf("create partitions ahead: %w", err)
	}
	return n, nil
}

// Partitions lists the pairs of partitions, oldest first, the default last.
func (s *Store) Partitions(ctx context.Context) ([]Partition, error) {
	rows, err := s.pool.Query(ctx, partitionsSQL)
	if err != nil {
		return nil, fmt.Errorf("list partitions: %w", err)
	}
	ps, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Partition, error) {
		var (
			p        Partition
			from, to *time.Time
			attempts *string
		)
		err := row.Scan(&p.Deliveries, &attempts, &p.Kind, &from, &to, &p.OpenRuns, &p.Waiting, &p.Sealed)
		if from != nil {
			p.From = *from
		}
		if to != nil {
			p.To = *to
		}
		if attempts != nil {
			p.Attempts = *attempts
		}
		return p, err
	})
	if err != nil {
		return nil, fmt.Errorf("list partitions: %w", err)
	}
	return ps, nil
}

// PartitionWarnings says what in ps needs an operator's eye at now: monthly
// partitions that end less than a month ahead (runs created after the last
// one land in the default partition), rows waiting in the default
// partition, and pairs left sealed by a prune that failed before its drop.
// Each warning comes with its fix.
func PartitionWarnings(ps []Partition, now time.Time) []Warning {
	var out []Warning
	if end := coveredUntil(ps, now); end.Before(now.AddDate(0, 1, 0)) {
		what := "no partition holds the runs created now"
		if !end.IsZero() {
			what = "partitions end at " + end.UTC().Format(time.DateOnly) + ", less than a month ahead"
		}
		out = append(out, Warning{
			What: what + ": later runs go to the DEFAULT partition",
			Fix:  "run `broadcaster migrate`, which creates them ahead",
		})
	}
	for _, p := range ps {
		if p.Sealed {
			out = append(out, Warning{
				What: fmt.Sprintf("%s and %s are sealed by a prune that has not dropped them: late results for their runs are ignored", p.Deliveries, p.Attempts),
				Fix:  "find why the prune failed in its log (the archive directory?) and run `broadcaster prune` again",
			})
		}
		if p.Kind == PartitionDefault && p.Waiting > 0 {
			out = append(out, Warning{
				What: fmt.Sprintf("%d rows wait in the DEFAULT partitions (%s, %s), for months without a partition", p.Waiting, p.Deliveries, p.Attempts),
				Fix:  "run `broadcaster migrate`, which creates the coming months' partitions and moves their rows there; for another month, SELECT broadcaster_ensure_partitions(a time in it, 0)",
			})
		}
	}
	return out
}

// Warning is a finding that does not stop anything yet, with how to fix it.
type Warning struct {
	What, Fix string
}

// coveredUntil returns the end of the unbroken run of monthly partitions
// that holds now, or zero when none holds it.
func coveredUntil(ps []Partition, now time.Time) time.Time {
	var end time.Time
	for _, p := range ps {
		if p.Kind != PartitionMonth {
			continue
		}
		switch {
		case end.IsZero() && !now.Before(p.From) && now.Before(p.To):
			end = p.To
		case !end.IsZero() && p.From.Equal(end):
			end = p.To
		}
	}
	return end
}
