package db

import (
	"context"
	_ "embed"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

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
func (s *Store) Partitions(ctx context.Context) ([]campaign.Partition, error) {
	_, ps, err := listPartitions(ctx, s.pool, time.Time{})
	return ps, err
}

// listPartitions reads partitions.sql: the pairs, and the time they were
// read at on the database's clock (now when it is not zero).
func listPartitions(ctx context.Context, q querier, now time.Time) (time.Time, []campaign.Partition, error) {
	rows, err := q.Query(ctx, partitionsSQL, pgx.NamedArgs{"now": timeOrNull(now)})
	if err != nil {
		return time.Time{}, nil, fmt.Errorf("list partitions: %w", err)
	}
	var readAt time.Time
	parts, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (campaign.Partition, error) {
		var (
			cp             campaign.Partition
			kind           string
			from, to       pgtype.Timestamptz
			newest         pgtype.Timestamptz
			open, estimate *int64
		)
		err := row.Scan(&readAt, &cp.Deliveries, &cp.Attempts, &kind, &from, &to, &open, &newest, &estimate,
			&cp.Waiting, &cp.Sealed)
		cp.Kind = campaign.PartitionKind(kind)
		cp.From, cp.To, cp.NewestRun = finite(from), finite(to), finite(newest)
		if open != nil {
			cp.OpenRuns = int(*open)
		}
		cp.Rows = -1
		if estimate != nil {
			cp.Rows = *estimate
		}
		return cp, err
	})
	if err != nil {
		return time.Time{}, nil, fmt.Errorf("list partitions: %w", err)
	}
	if readAt.IsZero() {
		readAt = now
	}
	return readAt, parts, nil
}

// finite is t, or zero for NULL and ±infinity.
func finite(t pgtype.Timestamptz) time.Time {
	if !t.Valid || t.InfinityModifier != pgtype.Finite {
		return time.Time{}
	}
	return t.Time
}

// PartitionWarnings says what in ps needs an operator's eye at now: monthly
// partitions that end less than a month ahead (runs created after the last
// one land in the default partition), rows waiting in the default
// partition, and pairs left sealed by a prune that failed before its drop.
// Each warning comes with its fix.
func PartitionWarnings(ps []campaign.Partition, now time.Time) []Warning {
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
		if p.Kind == campaign.PartitionDefault && p.Waiting > 0 {
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
func coveredUntil(ps []campaign.Partition, now time.Time) time.Time {
	var end time.Time
	for _, p := range ps {
		if p.Kind != campaign.PartitionMonth {
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
