package campaign

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Retention's defaults: each has its home here, beside the rules that use it.
const (
	// MinRetention is the shortest age a prune accepts. It is a guard
	// against a typo, not a rule of the data: "90m" for "90d" would
	// otherwise drop every month but the current one.
	MinRetention = 24 * time.Hour
	// DefaultMonthsAhead is how many months beyond the current one keep a
	// partition ready, so that a daemon stopped over a month's turn still
	// leaves the next runs a partition of their own (not the DEFAULT one).
	DefaultMonthsAhead = 2
	// DefaultMaintenanceEvery is how often the daemon creates partitions
	// ahead and, when retention is on, prunes. Both are idempotent and cheap
	// when there is nothing to do; a month's turn is weeks away from a
	// missing partition, so an hour is plenty.
	DefaultMaintenanceEvery = time.Hour
	// DefaultMaintenanceRetry is how soon a failed pass is tried again. A
	// pass fails mostly for a moment: creating a partition locks the
	// parent tables and adds a foreign key to campaign_runs, and PostgreSQL
	// may end it as the victim of a deadlock with a claim or a result
	// being written. An hour's wait would leave the months ahead missing.
	DefaultMaintenanceRetry = 15 * time.Second
)

// ErrPartitionGone reports that a partition to drop no longer exists: another
// instance pruned it first. Pruning it is then done, not failed.
var ErrPartitionGone = errors.New("partition already dropped")

// ErrPartitionInUse reports that the database refused to drop a partition
// because it holds an open run, or is the DEFAULT partition. The partition is
// kept.
var ErrPartitionInUse = errors.New("partition holds an open run")

// PartitionKind says which runs a pair of partitions holds.
type PartitionKind string

// The kinds of broadcaster_partitions.
const (
	// PartitionLegacy holds the deliveries created before partitioning,
	// whose run_created_at is -infinity.
	PartitionLegacy PartitionKind = "legacy"
	// PartitionMonth holds the runs created in one UTC month.
	PartitionMonth PartitionKind = "month"
	// PartitionDefault catches rows no other partition takes; it is the
	// safety net and is never pruned.
	PartitionDefault PartitionKind = "default"
)

// Partition is one pair of partitions, of deliveries and of
// delivery_attempts, holding the runs created in [From, To). Pruning works on
// whole pairs so that no attempt outlives its delivery.
type Partition struct {
	Deliveries string // the deliveries partition; it names the pair
	Attempts   string // the delivery_attempts partition
	Kind       PartitionKind
	From       time.Time // zero: unbounded (the legacy partition)
	To         time.Time // zero: unbounded (the DEFAULT partition)
	OpenRuns   int       // runs with deliveries here that are not completed or cancelled
	// NewestRun is, for the legacy partition, when its newest run was
	// created (zero when it holds none): its range says nothing about age.
	NewestRun time.Time
	Rows      int64 // deliveries held, as the planner estimates them; -1: unknown
	// Waiting counts the rows (deliveries and attempts) in the DEFAULT
	// partition, for months that had no partition when they were written;
	// 0 for the others.
	Waiting int64
	// Sealed is set once a prune has sealed the pair (its rows no longer
	// change): the drop that follows removes it, so a pair that stays
	// sealed is a prune that failed between the two.
	Sealed bool
}

// PruneVerdict is what PlanPrune decided about one partition, and why.
type PruneVerdict struct {
	Partition
	Drop   bool
	Reason string
}

// PlanPrune decides which partitions go when the data older than olderThan
// is pruned at now. A pair goes when every run it can hold was created before
// now − olderThan and none of its runs is still open:
//
//   - a month goes when its range ends at or before the cutoff;
//   - the legacy partition, whose range (before 2000) says nothing about
//     age, goes when its newest run was created before the cutoff; empty, it
//     stays (there is nothing to gain);
//   - the DEFAULT partition never goes: it is the safety net for rows no
//     other partition takes;
//   - a partition with an open run stays, whatever its age.
//
// It is pure, so the command, the daemon and tests share the one rule.
func PlanPrune(parts []Partition, now time.Time, olderThan time.Duration) []PruneVerdict {
	cutoff := now.Add(-olderThan)
	out := make([]PruneVerdict, len(parts))
	for i, p := range parts {
		out[i] = PruneVerdict{Partition: p}
		out[i].Drop, out[i].Reason = judge(p, cutoff)
	}
	return out
}

// judge applies PlanPrune's rule to one partition.
func judge(p Partition, cutoff time.Time) (drop bool, reason string) {
	stamp := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	switch {
	case p.Kind == PartitionDefault:
		return false, "default partition: never pruned"
	case p.Kind == PartitionLegacy && p.NewestRun.IsZero():
		return false, "legacy partition is empty"
	case p.Kind == PartitionLegacy && !p.NewestRun.Before(cutoff):
		return false, "newest run created " + stamp(p.NewestRun) + ", after the cutoff " + stamp(cutoff)
	case p.Kind != PartitionLegacy && (p.To.IsZero() || p.To.After(cutoff)):
		return false, "holds runs created after the cutoff " + stamp(cutoff)
	case p.OpenRuns == 1:
		return false, "1 open run"
	case p.OpenRuns > 1:
		return false, fmt.Sprintf("%d open runs", p.OpenRuns)
	case p.Kind == PartitionLegacy:
		return true, "every run created before " + stamp(cutoff)
	default:
		return true, "range ends before " + stamp(cutoff)
	}
}

// Archive says where a dropped pair was archived and how many rows each file
// holds. Dir is empty when it was dropped without an archive.
type Archive struct {
	Dir        string
	Deliveries int64
	Attempts   int64
}

// PartitionStore is what Retention needs from the database. It is apart from
// Store because only maintenance uses it.
type PartitionStore interface {
	// Partitions lists the pairs oldest first, with the time they were read
	// at: now, or the database's clock when now is zero.
	Partitions(ctx context.Context, now time.Time) (readAt time.Time, parts []Partition, err error)
	// EnsurePartitions creates the monthly pairs from now's month to
	// monthsAhead months after it that are missing, and says how many it
	// created. It is idempotent and safe from several processes at once.
	EnsurePartitions(ctx context.Context, now time.Time, monthsAhead int) (created int, err error)
	// DropPartition drops one pair, first sealing it (its rows stop
	// changing) and archiving it into a directory of archiveDir when
	// archiveDir is not empty: if the archive cannot be written, nothing is
	// dropped. It returns ErrPartitionGone when another process dropped it
	// first and ErrPartitionInUse when the database refuses (an open run).
	DropPartition(ctx context.Context, p Partition, archiveDir string) (Archive, error)
}
