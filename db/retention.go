package db

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/broadcaster/broadcaster/campaign"
	"github.com/broadcaster/broadcaster/internal/archive"
)

// Retention's SQL (see each file's header); creating partitions ahead is
// ensure_partitions.sql, shared with migrate.
var (
	//go:embed sql/prune_partitions.sql
	prunePartitionsSQL string
	//go:embed sql/prune_lock.sql
	pruneLockSQL string
	//go:embed sql/prune_partition_exists.sql
	prunePartitionExistsSQL string
	//go:embed sql/lock_partition.sql
	lockPartitionSQL string
	//go:embed sql/archive_range.sql
	archiveRangeSQL string
	//go:embed sql/archive_deliveries.sql
	archiveDeliveriesSQL string
	//go:embed sql/archive_attempts.sql
	archiveAttemptsSQL string
	//go:embed sql/drop_partition.sql
	dropPartitionSQL string
)

// Archive file names inside a pair's archive directory.
const (
	DeliveriesArchive = "deliveries.csv.gz"
	AttemptsArchive   = "delivery_attempts.csv.gz"
)

// dropTries bounds the attempts at dropping one pair. Dropping needs the
// parent tables exclusively for a moment: a transaction that touches the
// frozen pair meanwhile (a late result) can deadlock with it, and busy
// parents make broadcaster_drop_partition's lock_timeout expire. Trying again
// is the cure for both.
const dropTries = 3

// Retention implements campaign.PartitionStore: the partitioned tables'
// maintenance, through the owner's SECURITY DEFINER functions, so that the
// daemon's least-privileged role can run it.
type Retention struct {
	pool    *pgxpool.Pool
	version string
}

var _ campaign.PartitionStore = (*Retention)(nil)

// NewRetention returns the maintenance store on pool; version is written
// into archive manifests, so an archive says which build wrote it.
func NewRetention(pool *pgxpool.Pool, version string) *Retention {
	return &Retention{pool: pool, version: version}
}

// EnsurePartitions implements campaign.PartitionStore.
func (p *Retention) EnsurePartitions(ctx context.Context, now time.Time, monthsAhead int) (int, error) {
	return ensurePartitions(ctx, p.pool, now, monthsAhead)
}

// Partitions implements campaign.PartitionStore.
func (p *Retention) Partitions(ctx context.Context, now time.Time) (time.Time, []campaign.Partition, error) {
	rows, err := p.pool.Query(ctx, prunePartitionsSQL, pgx.NamedArgs{"now": timeOrNull(now)})
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
		err := row.Scan(&readAt, &cp.Deliveries, &cp.Attempts, &kind, &from, &to, &open, &newest, &estimate)
		cp.Kind = campaign.PartitionKind(kind)
		cp.From, cp.To, cp.NewestRun = finite(from), finite(to), finite(newest)
		if open != nil {
			cp.OpenRuns = int(*open)
		}
		if estimate != nil {
			cp.Rows = *estimate
		} else {
			cp.Rows = -1
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

// finite reads a bound: NULL and ±infinity (MINVALUE, MAXVALUE) are zero,
// which the domain reads as unbounded.
func finite(t pgtype.Timestamptz) time.Time {
	if !t.Valid || t.InfinityModifier != pgtype.Finite {
		return time.Time{}
	}
	return t.Time
}

// DropPartition implements campaign.PartitionStore. In one transaction it
// takes the pair's prune lock, finds the pair still there, freezes it,
// writes the archive when archiveDir is set (each file synced before the
// manifest), drops the pair and commits; any failure before the commit rolls
// the drop back.
func (p *Retention) DropPartition(ctx context.Context, part campaign.Partition, archiveDir string) (campaign.Archive, error) {
	var (
		a   campaign.Archive
		err error
	)
	for range dropTries {
		a, err = p.dropOnce(ctx, part, archiveDir)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || (pgErr.Code != pgerrcode.DeadlockDetected && pgErr.Code != pgerrcode.LockNotAvailable) {
			break
		}
	}
	return a, err
}

// dropOnce is one attempt of DropPartition.
func (p *Retention) dropOnce(ctx context.Context, part campaign.Partition, archiveDir string) (campaign.Archive, error) {
	var a campaign.Archive
	err := pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		name := pgx.NamedArgs{"partition": part.Deliveries}
		if _, err := tx.Exec(ctx, pruneLockSQL, name); err != nil {
			return err
		}
		var (
			at      time.Time
			present bool
		)
		if err := tx.QueryRow(ctx, prunePartitionExistsSQL, name).Scan(&at, &present); err != nil {
			return err
		}
		if !present {
			return campaign.ErrPartitionGone
		}
		if _, err := tx.Exec(ctx, lockPartitionSQL, name); err != nil {
			return err
		}
		if archiveDir != "" {
			var err error
			if a, err = p.archive(ctx, tx, part, filepath.Join(archiveDir, part.Deliveries), at); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, dropPartitionSQL, name)
		return err
	})
	var pgErr *pgconn.PgError
	switch {
	case errors.Is(err, campaign.ErrPartitionGone):
		return a, err
	case errors.As(err, &pgErr) && pgErr.Code == pgerrcode.ObjectInUse:
		return a, fmt.Errorf("%w: %s", campaign.ErrPartitionInUse, pgErr.Message)
	case err != nil:
		return a, fmt.Errorf("drop partition %s: %w", part.Deliveries, err)
	}
	return a, nil
}

// archive writes the frozen pair into dir: both tables as gzip CSV, then the
// manifest.
func (p *Retention) archive(ctx context.Context, tx pgx.Tx, part campaign.Partition, dir string, at time.Time) (campaign.Archive, error) {
	from := pgtype.Timestamptz{Time: part.From, Valid: true}
	if part.From.IsZero() {
		from = pgtype.Timestamptz{InfinityModifier: pgtype.NegativeInfinity, Valid: true}
	}
	if _, err := tx.Exec(ctx, archiveRangeSQL, pgx.NamedArgs{"from": from, "to": part.To}); err != nil {
		return campaign.Archive{}, err
	}
	copyTo := func(sql string) func(io.Writer) (int64, error) {
		return func(w io.Writer) (int64, error) {
			tag, err := tx.Conn().PgConn().CopyTo(ctx, w, sql)
			return tag.RowsAffected(), err
		}
	}
	deliveries, err := archive.WriteTable(dir, DeliveriesArchive, "deliveries", copyTo(archiveDeliveriesSQL))
	if err != nil {
		return campaign.Archive{}, err
	}
	attempts, err := archive.WriteTable(dir, AttemptsArchive, "delivery_attempts", copyTo(archiveAttemptsSQL))
	if err != nil {
		return campaign.Archive{}, err
	}
	m := archive.Manifest{
		Partition:         part.Deliveries,
		AttemptsPartition: part.Attempts,
		Kind:              string(part.Kind),
		RangeTo:           part.To.UTC(),
		Files:             []archive.File{deliveries, attempts},
		Version:           p.version,
		CreatedAt:         at.UTC(),
	}
	if !part.From.IsZero() {
		from := part.From.UTC()
		m.RangeFrom = &from
	}
	if err := archive.WriteManifest(dir, m); err != nil {
		return campaign.Archive{}, err
	}
	return campaign.Archive{Dir: dir, Deliveries: deliveries.Rows, Attempts: attempts.Rows}, nil
}
