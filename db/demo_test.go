package db_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/broadcaster/broadcaster/db"
	"github.com/broadcaster/broadcaster/internal/dbtest"
)

// The demo's database is created next to the one the connection string
// names, in either form of connection string, and dropped again; the named
// database is only connected to.
func TestCreateDemoDatabase(t *testing.T) {
	t.Parallel()
	dbURL := dbtest.NewURL(t)
	cfg, err := pgx.ParseConfig(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	keywords := fmt.Sprintf("host=%s port=%d user=%s dbname=%s sslmode=disable", cfg.Host, cfg.Port, cfg.User, cfg.Database)
	if cfg.Password != "" {
		keywords += " password=" + cfg.Password
	}
	withParam, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	q := withParam.Query()
	q.Set("dbname", cfg.Database)
	withParam.RawQuery = q.Encode()
	for name, connString := range map[string]string{
		"url":                       dbURL,
		"url with dbname parameter": withParam.String(),
		"keyword/value":             keywords,
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			own, err := db.CreateDemoDatabase(ctx, connString)
			if err != nil {
				t.Fatalf("CreateDemoDatabase: %v", err)
			}
			if !strings.HasPrefix(own.Name, db.DemoDatabasePrefix) {
				t.Errorf("name %q lacks the prefix %q", own.Name, db.DemoDatabasePrefix)
			}
			conn, err := pgx.Connect(ctx, own.URL)
			if err != nil {
				t.Fatalf("connect to the demo's database: %v", err)
			}
			var current string
			if err := conn.QueryRow(ctx, "SELECT current_database()").Scan(&current); err != nil {
				t.Fatal(err)
			}
			if current != own.Name {
				t.Errorf("URL connects to %q, want %q", current, own.Name)
			}
			// Left open on purpose: Drop ends connections the demo forgot.
			for range 2 { // a second Drop finds nothing to do
				if err := own.Drop(ctx); err != nil {
					t.Fatalf("Drop: %v", err)
				}
			}
			_ = conn.Close(ctx)
			if exists := databaseExists(t, dbURL, own.Name); exists {
				t.Errorf("database %s still exists after Drop", own.Name)
			}
		})
	}
}

func TestCreateDemoDatabaseDeniedWithoutCREATEDB(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbURL := dbtest.NewURL(t)
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(ctx) }) // after the role's drop below
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	role := "demo_denied_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE ROLE "+role+" LOGIN NOCREATEDB PASSWORD 'pw'"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = conn.Exec(context.Background(), "DROP ROLE "+role) })
	cfg, err := pgx.ParseConfig(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	asRole := fmt.Sprintf("host=%s port=%d user=%s password=pw dbname=%s sslmode=disable", cfg.Host, cfg.Port, role, cfg.Database)
	_, err = db.CreateDemoDatabase(ctx, asRole)
	if !errors.Is(err, db.ErrCreateDatabaseDenied) || !strings.Contains(err.Error(), `role "`+role+`"`) {
		t.Errorf("CreateDemoDatabase as a role without CREATEDB = %v, want %v naming the role", err, db.ErrCreateDatabaseDenied)
	}
}

func databaseExists(t *testing.T, dbURL, name string) bool {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		t.Fatal(err)
	}
	return exists
}
