package db_test

import (
	"context"
	"errors"
	"strconv"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sourcegraph/conc/pool"

	"github.com/broadcaster/broadcaster/db"
	"github.com/broadcaster/broadcaster/internal/dbtest"
)

// emptyDatabase is a database of the test's own with no schema at all.
func emptyDatabase(t *testing.T) (*pgxpool.Pool, string) {
	t.Helper()
	ctx := context.Background()
	url := dbtest.NewURL(t)
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, err := pool.Exec(ctx, `DROP SCHEMA public CASCADE; CREATE SCHEMA public`); err != nil {
		t.Fatal(err)
	}
	return pool, url
}

func TestMigrateRepeatedAndConcurrent(t *testing.T) {
	ctx := context.Background()
	conn, url := emptyDatabase(t)
	if v, err := db.SchemaVersion(ctx, conn); err != nil || v != 0 {
		t.Fatalf("SchemaVersion of an empty database = %d, %v; want 0, nil", v, err)
	}
	if err := db.CheckSchema(ctx, conn); !errors.Is(err, db.ErrNoSchema) {
		t.Fatalf("CheckSchema of an empty database = %v, want ErrNoSchema", err)
	}
	p := pool.New().WithErrors()
	for range 4 {
		p.Go(func() error {
			pl, err := pgxpool.New(ctx, url)
			if err != nil {
				return err
			}
			defer pl.Close()
			return db.Migrate(ctx, pl)
		})
	}
	if err := p.Wait(); err != nil {
		t.Fatalf("concurrent migrations: %v", err)
	}
	if err := db.Migrate(ctx, conn); err != nil {
		t.Fatalf("repeated migration: %v", err)
	}
	if v, err := db.SchemaVersion(ctx, conn); err != nil || v != db.WantSchemaVersion() {
		t.Fatalf("SchemaVersion = %d, %v; want %d, nil", v, err, db.WantSchemaVersion())
	}
	if err := db.CheckSchema(ctx, conn); err != nil {
		t.Fatalf("CheckSchema after migrate: %v", err)
	}
	ms, err := db.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	rows, err := conn.Query(ctx, `SELECT version, name, checksum FROM broadcaster_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	type rec struct {
		V          int
		Name, Hash string
	}
	got, err := pgx.CollectRows(rows, pgx.RowToStructByPos[rec])
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(ms) {
		t.Fatalf("recorded %d migrations, want %d", len(got), len(ms))
	}
	for i, m := range ms {
		if got[i] != (rec{m.Version, m.Name, m.Checksum}) {
			t.Errorf("recorded %+v, want %d %s %s", got[i], m.Version, m.Name, m.Checksum)
		}
	}
}

// Migrations are numbered from 1 without gaps, and version 1 is the first
// release's schema.sql, byte for byte: databases it created are adopted as
// version 1 by checksum.
func TestMigrationFiles(t *testing.T) {
	ms, err := db.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	// sha256sum of schema.sql at commit 29f0a83, the first release.
	const firstRelease = "ee2e8723838c2a29e67c622ff20f0240de5e06de16545d9a0c205c92bdad7270"
	if ms[0].Name != "0001_initial.sql" || ms[0].Checksum != firstRelease {
		t.Errorf("migration 1 = %s with checksum %s; want 0001_initial.sql, the first release's schema.sql (%s)",
			ms[0].Name, ms[0].Checksum, firstRelease)
	}
}

// A database the first release created (schema.sql applied as it shipped,
// schema_version 1, no record of migrations) is adopted: migration 1 is
// recorded without being run again, and the later ones are applied.
func TestMigrateAdoptsAFirstReleaseDatabase(t *testing.T) {
	ctx := context.Background()
	conn, _ := emptyDatabase(t)
	ms, err := db.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, ms[0].SQL, pgx.QueryExecModeSimpleProtocol); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `INSERT INTO recipient_lists (name) VALUES ('kept')`); err != nil {
		t.Fatal(err)
	}
	if v, err := db.SchemaVersion(ctx, conn); err != nil || v != 1 {
		t.Fatalf("SchemaVersion of a first-release database = %d, %v; want 1", v, err)
	}
	if err := db.Migrate(ctx, conn); err != nil {
		t.Fatal(err)
	}
	var lists, recorded int
	if err := conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM recipient_lists), (SELECT count(*) FROM broadcaster_migrations)`).
		Scan(&lists, &recorded); err != nil {
		t.Fatal(err)
	}
	if lists != 1 || recorded != len(ms) {
		t.Errorf("after adoption: %d lists (want 1), %d migrations recorded (want %d)", lists, recorded, len(ms))
	}
}

// An applied migration whose file changed since is refused, by migrate and
// by every command that checks the schema.
func TestEditedMigrationIsRefused(t *testing.T) {
	f := newFixture(t)
	f.exec(`UPDATE broadcaster_migrations SET checksum = 'deadbeef' WHERE version = 1`)
	if err := db.Migrate(f.ctx, f.pool); !errors.Is(err, db.ErrMigrationEdited) {
		t.Errorf("Migrate = %v, want ErrMigrationEdited", err)
	}
	if err := db.CheckSchema(f.ctx, f.pool); !errors.Is(err, db.ErrMigrationEdited) {
		t.Errorf("CheckSchema = %v, want ErrMigrationEdited", err)
	}
}

// A binary refuses a database behind it, and one ahead of it only when a
// migration it does not know says older binaries must not run.
func TestCheckSchemaBehindAndAhead(t *testing.T) {
	want := db.WantSchemaVersion()
	tests := []struct {
		name string
		sql  string
		err  error
	}{
		{"current", ``, nil},
		{"behind", `DELETE FROM broadcaster_migrations WHERE version = ` + strconv.Itoa(want), db.ErrSchemaBehind},
		{"ahead, compatible", `INSERT INTO broadcaster_migrations (version, name, checksum) VALUES (` +
			strconv.Itoa(want+1) + `, 'future.sql', 'x')`, nil},
		{"ahead, incompatible", `INSERT INTO broadcaster_migrations (version, name, checksum, breaks_older) VALUES (` +
			strconv.Itoa(want+1) + `, 'future.sql', 'x', true)`, db.ErrSchemaAhead},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if tt.name == "behind" && want < 2 {
				t.Skip("needs a second migration")
			}
			f := newFixture(t)
			if tt.sql != "" {
				f.exec(tt.sql)
			}
			if err := db.CheckSchema(f.ctx, f.pool); !errors.Is(err, tt.err) || (tt.err == nil && err != nil) {
				t.Errorf("CheckSchema = %v, want %v", err, tt.err)
			}
			st, err := db.MigrationsStatus(f.ctx, f.pool)
			if err != nil {
				t.Fatal(err)
			}
			if tt.name == "behind" && st[want-1].Applied {
				t.Errorf("status of %s: applied, want pending", st[want-1].Name)
			}
		})
	}
}

func TestCampaignTriggerNotifies(t *testing.T) {
	f := newFixture(t)
	conn, err := f.pool.Acquire(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(f.ctx, `LISTEN broadcaster_campaigns`); err != nil {
		t.Fatal(err)
	}
	id := f.campaign([]string{"a"})
	n, err := conn.Conn().WaitForNotification(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id" : ` + itoa(id) + `, "status" : "active", "op" : "insert"}`
	if n.Payload != want {
		t.Errorf("payload = %s, want %s", n.Payload, want)
	}
	f.exec(`UPDATE campaigns SET status = 'paused' WHERE id = $1`, id)
	n, err = conn.Conn().WaitForNotification(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"id" : ` + itoa(id) + `, "status" : "paused", "op" : "update"}`; n.Payload != want {
		t.Errorf("payload = %s, want %s", n.Payload, want)
	}
}
