package db

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	broadcaster "github.com/broadcaster/broadcaster"
)

// The migrator's own SQL.
var (
	//go:embed sql/migrate_lock.sql
	migrateLockSQL string
	//go:embed sql/migrate_unlock.sql
	migrateUnlockSQL string
	//go:embed sql/migrations_table.sql
	migrationsTableSQL string
	//go:embed sql/migrations_adopt.sql
	migrationsAdoptSQL string
	//go:embed sql/migrations_applied.sql
	migrationsAppliedSQL string
	//go:embed sql/migrations_record.sql
	migrationsRecordSQL string
	//go:embed sql/migrations_probe.sql
	migrationsProbeSQL string
	//go:embed sql/migrate_live_claims.sql
	migrateLiveClaimsSQL string
)

// migrateLock is the advisory lock key that serialises migrations, so two
// processes migrating at once both succeed instead of racing on the catalog.
const migrateLock = 0x62726f6164 // "broad"

// breaksOlderMarker, on a line of its own in a migration, says that binaries
// which do not know the migration must refuse a database where it is
// applied. Migrations are written expand-then-contract so that the previous
// release keeps running against a database one migration ahead (a rolling
// update, or a rollback); only a contracting step that removes what an older
// release still uses carries the marker.
const breaksOlderMarker = "-- broadcaster:breaks-older-binaries"

// Migration is one numbered file of migrations/: applied once, in order,
// in a transaction of its own, and recorded with its checksum.
type Migration struct {
	Version  int
	Name     string // the file name, e.g. 0002_receipt_overflow.sql
	SQL      string
	Checksum string // hex SHA-256 of SQL
	// BreaksOlder is set by breaksOlderMarker: binaries that do not know
	// this migration refuse a database it was applied to.
	BreaksOlder bool
}

// migrationName is NNNN_words.sql: the number orders the files.
var migrationName = regexp.MustCompile(`^(\d{4})_[a-z0-9_]+\.sql$`)

// Migrations returns the embedded migrations in version order. It fails on a
// misnamed file, a repeated number or a gap, so a mistake shows in the first
// test rather than in production.
func Migrations() ([]Migration, error) {
	names, err := fs.Glob(broadcaster.MigrationFiles, "migrations/*")
	if err != nil {
		return nil, fmt.Errorf("list migrations: %w", err)
	}
	var ms []Migration
	for _, p := range names {
		name := path.Base(p)
		m := migrationName.FindStringSubmatch(name)
		if m == nil {
			return nil, fmt.Errorf("migration %s: name must be NNNN_lower_case_words.sql", name)
		}
		b, err := fs.ReadFile(broadcaster.MigrationFiles, p)
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", name, err)
		}
		v, _ := strconv.Atoi(m[1])
		sum := sha256.Sum256(b)
		ms = append(ms, Migration{
			Version: v, Name: name, SQL: string(b), Checksum: hex.EncodeToString(sum[:]),
			BreaksOlder: hasMarkerLine(string(b), breaksOlderMarker),
		})
	}
	for i, m := range ms { // fs.Glob returns names sorted
		if m.Version != i+1 {
			return nil, fmt.Errorf("migration %s: expected number %04d: numbers start at 1 without gaps", m.Name, i+1)
		}
	}
	return ms, nil
}

func hasMarkerLine(sql, marker string) bool {
	for _, line := range strings.Split(sql, "\n") {
		if strings.TrimSpace(line) == marker {
			return true
		}
	}
	return false
}

// ErrMigrationEdited reports that an applied migration's file no longer has
// the checksum it had when it was applied: the database and the code
// disagree about what the schema is, and only a person can say which is
// right.
var ErrMigrationEdited = errors.New("an applied migration was edited")

// ErrSchemaBehind reports a database that lacks migrations this binary
// needs.
var ErrSchemaBehind = errors.New("the database schema is behind this binary")

// ErrSchemaAhead reports a database migrated by a newer binary with a
// migration that marks older binaries incompatible.
var ErrSchemaAhead = errors.New("the database schema is ahead of this binary")

// ErrNoSchema reports a database that was never migrated.
var ErrNoSchema = errors.New("no broadcaster schema")

// ErrInstancesRunning reports that instances still hold claims while a
// migration that older binaries refuse is pending: applying it under them
// would make them fail mid-batch.
var ErrInstancesRunning = errors.New("broadcaster instances are still sending")

// MigrationStatus is one migration as `migrate --status` lists it: known to
// this binary, applied to the database, or both.
type MigrationStatus struct {
	Version     int
	Name        string
	Applied     bool
	AppliedAt   time.Time // zero when pending
	Known       bool      // this binary carries the file
	BreaksOlder bool
	// Edited is set when the applied checksum differs from the file's.
	Edited bool
}

// Migrate applies the pending migrations in order, each in its own
// transaction, under a session advisory lock, so it is safe to repeat and
// to run from several processes at once. A database created by the first
// release (schema.sql with schema_version 1, before migrations were
// recorded) is adopted as having version 1 applied. A migration that older
// binaries refuse is not applied while deliveries are claimed under a live
// lease (ErrInstancesRunning). Last, it creates the partitions of the
// current month and PartitionsAhead months after it.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	ms, err := Migrations()
	if err != nil {
		return err
	}
	return migrateTo(ctx, pool, ms)
}

// migrateTo applies the pending migrations among ms, which tests cut short
// to build a database as an older release left it.
func migrateTo(ctx context.Context, pool *pgxpool.Pool, ms []Migration) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, migrateLockSQL, pgx.NamedArgs{"key": int64(migrateLock)}); err != nil {
		return fmt.Errorf("migrate: lock: %w", err)
	}
	// A session lock outlives the transactions below; give it back even if
	// ctx ended, or the connection returns to the pool still holding it.
	defer func() {
		_, _ = conn.Exec(context.WithoutCancel(ctx), migrateUnlockSQL, pgx.NamedArgs{"key": int64(migrateLock)})
	}()
	if err := prepareMigrations(ctx, conn.Conn(), ms[0]); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	applied, err := appliedMigrations(ctx, conn.Conn())
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if err := verifyApplied(ms, applied); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for _, m := range ms {
		if _, ok := applied[m.Version]; ok {
			continue
		}
		if m.BreaksOlder {
			if err := noLiveClaims(ctx, conn.Conn(), m); err != nil {
				return fmt.Errorf("migrate: %w", err)
			}
		}
		if err := applyMigration(ctx, conn.Conn(), m); err != nil {
			return fmt.Errorf("migrate: %s: %w", m.Name, err)
		}
	}
	if len(ms) < PartitionsVersion {
		return nil
	}
	if _, err := ensurePartitions(ctx, conn, time.Time{}, PartitionsAhead); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// noLiveClaims fails with ErrInstancesRunning when some instance holds
// deliveries it is sending, before m, which older binaries refuse, is
// applied.
func noLiveClaims(ctx context.Context, conn *pgx.Conn, m Migration) error {
	var n int64
	if err := conn.QueryRow(ctx, migrateLiveClaimsSQL, pgx.NamedArgs{"now": nil}).Scan(&n); err != nil {
		return fmt.Errorf("%s: count live claims: %w", m.Name, err)
	}
	if n > 0 {
		return fmt.Errorf("%w: %d deliveries are claimed under a live lease, and %s makes older binaries stop; fix: stop every broadcaster instance (or let their leases run out), then migrate again",
			ErrInstancesRunning, n, m.Name)
	}
	return nil
}

// prepareMigrations creates the table of applied migrations and adopts a
// first-release database, whose schema is migration 1 exactly.
func prepareMigrations(ctx context.Context, conn *pgx.Conn, first Migration) error {
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, migrationsTableSQL); err != nil {
			return fmt.Errorf("create migrations table: %w", err)
		}
		_, err := tx.Exec(ctx, migrationsAdoptSQL, pgx.NamedArgs{
			"version": first.Version, "name": first.Name, "checksum": first.Checksum,
		})
		if err != nil {
			return fmt.Errorf("adopt a first-release schema: %w", err)
		}
		return nil
	})
}

type appliedMigration struct {
	name, checksum string
	breaksOlder    bool
	at             time.Time
}

func appliedMigrations(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}) (map[int]appliedMigration, error) {
	rows, err := q.Query(ctx, migrationsAppliedSQL)
	if err != nil {
		return nil, fmt.Errorf("applied migrations: %w", err)
	}
	out := map[int]appliedMigration{}
	var (
		v int
		a appliedMigration
	)
	_, err = pgx.ForEachRow(rows, []any{&v, &a.name, &a.checksum, &a.breaksOlder, &a.at}, func() error {
		out[v] = a
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("applied migrations: %w", err)
	}
	return out, nil
}

// verifyApplied fails when an applied migration this binary also carries was
// edited since.
func verifyApplied(ms []Migration, applied map[int]appliedMigration) error {
	for _, m := range ms {
		if a, ok := applied[m.Version]; ok && a.checksum != m.Checksum {
			return fmt.Errorf("%w: %s was applied with checksum %.12s…, the file now has %.12s…",
				ErrMigrationEdited, m.Name, a.checksum, m.Checksum)
		}
	}
	return nil
}

func applyMigration(ctx context.Context, conn *pgx.Conn, m Migration) error {
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		// Several statements: the simple protocol runs them as one script.
		if _, err := tx.Exec(ctx, m.SQL, pgx.QueryExecModeSimpleProtocol); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, migrationsRecordSQL, pgx.NamedArgs{
			"version": m.Version, "name": m.Name, "checksum": m.Checksum, "breaks_older": m.BreaksOlder,
		})
		return err
	})
}

// MigrationsStatus lists every migration this binary knows or the database
// has applied, in version order: what `migrate --status` prints.
func MigrationsStatus(ctx context.Context, pool *pgxpool.Pool) ([]MigrationStatus, error) {
	ms, err := Migrations()
	if err != nil {
		return nil, err
	}
	applied, err := readApplied(ctx, pool)
	if err != nil {
		return nil, err
	}
	var out []MigrationStatus
	for _, m := range ms {
		s := MigrationStatus{Version: m.Version, Name: m.Name, Known: true, BreaksOlder: m.BreaksOlder}
		if a, ok := applied[m.Version]; ok {
			s.Applied, s.AppliedAt, s.Edited = true, a.at, a.checksum != m.Checksum
		}
		out = append(out, s)
	}
	for v := len(ms) + 1; ; v++ { // applied by a newer binary
		a, ok := applied[v]
		if !ok {
			break
		}
		out = append(out, MigrationStatus{Version: v, Name: a.name, Applied: true, AppliedAt: a.at, BreaksOlder: a.breaksOlder})
	}
	return out, nil
}

// readApplied returns the applied migrations, adopting nothing: a database
// of the first release, not yet migrated by this one, shows migration 1
// applied, as Migrate would record it.
func readApplied(ctx context.Context, pool *pgxpool.Pool) (map[int]appliedMigration, error) {
	var hasTable, firstRelease bool
	if err := pool.QueryRow(ctx, migrationsProbeSQL).Scan(&hasTable, &firstRelease); err != nil {
		return nil, fmt.Errorf("applied migrations: %w", err)
	}
	if hasTable {
		return appliedMigrations(ctx, pool)
	}
	applied := map[int]appliedMigration{}
	if firstRelease {
		ms, err := Migrations()
		if err != nil {
			return nil, err
		}
		applied[1] = appliedMigration{name: ms[0].Name, checksum: ms[0].Checksum}
	}
	return applied, nil
}

// CheckSchema tells whether this binary may run against the database: nil
// when every migration it knows is applied and nothing applied by a newer
// binary marks it incompatible. It wraps ErrNoSchema, ErrSchemaBehind,
// ErrSchemaAhead or ErrMigrationEdited otherwise.
func CheckSchema(ctx context.Context, pool *pgxpool.Pool) error {
	st, err := MigrationsStatus(ctx, pool)
	if err != nil {
		return err
	}
	var pending []string
	applied := 0
	for _, s := range st {
		switch {
		case s.Applied:
			applied++
		case s.Known:
			pending = append(pending, s.Name)
		}
	}
	if applied == 0 {
		return ErrNoSchema
	}
	for _, s := range st {
		if s.Edited {
			return fmt.Errorf("%w: %s", ErrMigrationEdited, s.Name)
		}
		if !s.Known && s.BreaksOlder {
			return fmt.Errorf("%w (%s)", ErrSchemaAhead, s.Name)
		}
	}
	if len(pending) > 0 {
		return fmt.Errorf("%w (pending: %s)", ErrSchemaBehind, strings.Join(pending, ", "))
	}
	return nil
}

// SchemaVersion returns the highest migration applied to the database, or 0
// when it was never migrated.
func SchemaVersion(ctx context.Context, pool *pgxpool.Pool) (int, error) {
	applied, err := readApplied(ctx, pool)
	if err != nil {
		return 0, fmt.Errorf("schema version: %w", err)
	}
	v := 0
	for version := range applied {
		v = max(v, version)
	}
	return v, nil
}

// WantSchemaVersion returns the number of the newest migration this binary
// carries.
func WantSchemaVersion() int {
	ms, err := Migrations()
	if err != nil || len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].Version
}
