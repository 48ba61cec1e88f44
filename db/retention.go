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
	//go:embed sql/prune_lock.sql
	pruneLockSQL string
	//go:embed sql/prune_unlock.sql
	pruneUnlockSQL string
	//go:embed sql/prune_partition_exists.sql
	prunePartitionExistsSQL string
	//go:embed sql/seal_partition.sql
	sealPartitionSQL string
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

// dropTries bounds the attempts at sealing or dropping one pair. Both take
// the parent tables' locks for a moment behind the claims in flight, and give
// up after their lock_timeout (or lose a deadlock) rather than queue every
// claim behind them; trying again is the cure.
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
	return listPartitions(ctx, p.pool, now)
}

// DropPartition implements campaign.PartitionStore. Holding the pair's
// prune lock (one instance at a time), it finds the pair still there, seals
// it (committed at once: from then on its rows cannot change), writes the
// archive when archiveDir is set (each file synced before the manifest, in a
// read-only transaction that blocks nobody), and only then drops the pair.
// A failure before the drop leaves the pair in place, sealed, for the next
// prune.
func (p *Retention) DropPartition(ctx context.Context, part campaign.Partition, archiveDir string) (a campaign.Archive, err error) {
	conn, err := p.pool.Acquire(ctx)
	if err != nil {
		return a, fmt.Errorf("drop partition %s: %w", part.Deliveries, err)
	}
	defer conn.Release()
	name := pgx.NamedArgs{"partition": part.Deliveries}
	if _, err := conn.Exec(ctx, pruneLockSQL, name); err != nil {
		return a, fmt.Errorf("drop partition %s: %w", part.Deliveries, err)
	}
	defer func() {
		if _, uerr := conn.Exec(context.WithoutCancel(ctx), pruneUnlockSQL, name); uerr != nil {
			// A session lock must not go back to the pool with the conn.
			_ = conn.Conn().Close(context.WithoutCancel(ctx))
		}
	}()
	err = p.sealArchiveDrop(ctx, conn.Conn(), part, archiveDir, &a)
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

// sealArchiveDrop is DropPartition's work under the prune lock, on conn.
func (p *Retention) sealArchiveDrop(ctx context.Context, conn *pgx.Conn, part campaign.Partition, archiveDir string, a *campaign.Archive) error {
	name := pgx.NamedArgs{"partition": part.Deliveries}
	var (
		at      time.Time
		present bool
	)
	if err := conn.QueryRow(ctx, prunePartitionExistsSQL, name).Scan(&at, &present); err != nil {
		return err
	}
	if !present {
		return campaign.ErrPartitionGone
	}
	if err := retryLocks(func() error { _, err := conn.Exec(ctx, sealPartitionSQL, name); return err }); err != nil {
		return err
	}
	if archiveDir != "" {
		err := pgx.BeginTxFunc(ctx, conn, pgx.TxOptions{AccessMode: pgx.ReadOnly, IsoLevel: pgx.RepeatableRead}, func(tx pgx.Tx) error {
			var err error
			*a, err = p.archive(ctx, tx, part, filepath.Join(archiveDir, part.Deliveries), at)
			return err
		})
		if err != nil {
			return err
		}
	}
	return retryLocks(func() error { _, err := conn.Exec(ctx, dropPartitionSQL, name); return err })
}

// retryLocks runs step up to dropTries times while it fails for want of a
// lock (lock_timeout, or a deadlock PostgreSQL broke by failing it).
func retryLocks(step func() error) error {
	var err error
	for range dropTries {
		err = step()
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || (pgErr.Code != pgerrcode.DeadlockDetected && pgErr.Code != pgerrcode.LockNotAvailable) {
			return err
		}
	}
	return err
}

// archive writes the sealed pair into dir: both tables as gzip CSV, then
// the manifest.
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
