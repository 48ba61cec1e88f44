// Package dbtest gives every test that touches data its own fresh PostgreSQL
// database, on a real server: never a mock.
//
// The server is TEST_DATABASE_URL's, else a throwaway
// one that internal/pgtemp starts for the test process, on first use, and
// removes when the tests end. The schema is applied once per test process to
// a template database; each test then gets a copy made with
// CREATE DATABASE … TEMPLATE, which takes milliseconds, and the copy is
// dropped when the test ends. Database names are random, so several test
// processes (go test runs packages in parallel) can share one external
// server.
//
// A package's tests use it like this:
//
//	func TestMain(m *testing.M) {
//		dbtest.Main(m, dbtest.WithMigrate(db.Migrate))
//	}
//
//	func TestSomething(t *testing.T) {
//		t.Parallel()
//		pool := dbtest.New(t) // an empty, migrated database of its own
//		...
//	}
package dbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/broadcaster/broadcaster/internal/pgtemp"
)

// active is the running test process's environment, set by Run for the
// duration of m.Run. It is the package's one variable, and unavoidable: Go
// gives a TestMain no other way to hand state to the tests it runs.
var active atomic.Pointer[env]

// Option configures the databases that New hands out.
type Option func(*config)

type config struct {
	schema []func(context.Context, *pgxpool.Pool) error
}

// WithMigrate applies a schema with fn, e.g. the application's own migration
// function, so that tests run against exactly what production runs. fn gets
// a pool to the template database and must not keep connections open after
// it returns (any left are terminated). Options apply in the order given.
func WithMigrate(fn func(ctx context.Context, pool *pgxpool.Pool) error) Option {
	return func(c *config) { c.schema = append(c.schema, fn) }
}

// WithSchemaSQL applies a schema given as SQL text, which may hold several
// statements (it is sent with the simple query protocol).
func WithSchemaSQL(sql string) Option {
	return WithMigrate(func(ctx context.Context, pool *pgxpool.Pool) error {
		_, err := pool.Exec(ctx, sql)
		return err
	})
}

// Main is for a package's TestMain: it runs the tests with Run and exits
// with their status, which a TestMain must do itself when setup fails.
func Main(m *testing.M, opts ...Option) {
	os.Exit(Run(m, opts...))
}

// Run runs the tests with databases available to New, then drops what it
// created and stops the server it started (also when tests fail), and
// returns the exit code for os.Exit. Use it instead of Main when the
// TestMain has more to tear down. The server is only started if a test
// calls New, so test runs that select no such test (fuzzing, -run filters)
// pay nothing.
func Run(m *testing.M, opts ...Option) int {
	// Never DATABASE_URL: in an operator's shell it names production.
	e := &env{external: os.Getenv("TEST_DATABASE_URL")}
	for _, opt := range opts {
		opt(&e.cfg)
	}
	if !active.CompareAndSwap(nil, e) {
		fmt.Fprintln(os.Stderr, "dbtest: Run called while another Run is active")
		return 2
	}
	code := m.Run()
	active.Store(nil)
	if err := e.close(); err != nil {
		fmt.Fprintln(os.Stderr, "dbtest:", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// New returns a pool to a fresh database of the test's own, holding the
// schema, and closes the pool and drops the database when the test ends.
// Tests calling it may run in parallel.
func New(t testing.TB) *pgxpool.Pool {
	t.Helper()
	dbURL := NewURL(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatalf("dbtest: open pool: %v", err)
	}
	// Registered after NewURL's cleanup, so it runs before the drop.
	t.Cleanup(pool.Close)
	return pool
}

// NewURL is New for tests that open connections themselves (a pgx.Conn,
// another process): it returns the fresh database's URL. The database is
// dropped when the test ends, even with connections still open.
func NewURL(t testing.TB) string {
	t.Helper()
	e := active.Load()
	if e == nil {
		t.Fatal("dbtest: New needs dbtest.Main or dbtest.Run in the package's TestMain")
	}
	if err := e.ready(); err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	name, err := uniqueName(t.Name())
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	dbURL, err := withDatabase(e.adminURL, name)
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := e.create(ctx, name); err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := e.drop(ctx, name); err != nil {
			t.Errorf("dbtest: %v", err)
		}
	})
	return dbURL
}

// env is one test process's database environment.
type env struct {
	cfg      config
	external string // the server URL from the environment, if any

	setupOnce sync.Once
	setupErr  error
	srv       *pgtemp.Server // the throwaway server, when not external
	adminURL  string         // where databases are created from
	admin     *pgxpool.Pool
	template  string
}

// ready sets the environment up on first use, and reports the same error to
// every test if that failed.
func (e *env) ready() error {
	e.setupOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		e.setupErr = e.setup(ctx)
	})
	return e.setupErr
}

func (e *env) setup(ctx context.Context) error {
	e.adminURL = e.external
	if e.adminURL == "" {
		srv, err := pgtemp.Start(ctx, pgtemp.Options{})
		if err != nil {
			return err
		}
		e.srv = srv
		e.adminURL = srv.URL()
	}
	admin, err := pgxpool.New(ctx, e.adminURL)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", redact(e.adminURL), err)
	}
	e.admin = admin
	if err := admin.Ping(ctx); err != nil {
		return fmt.Errorf("connect to %s: %w", redact(e.adminURL), err)
	}
	name, err := uniqueName("template")
	if err != nil {
		return err
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+quote(name)); err != nil {
		return fmt.Errorf("create template database: %w", err)
	}
	e.template = name
	if err := e.applySchema(ctx); err != nil {
		return fmt.Errorf("apply schema to template database: %w", err)
	}
	// No connection may reach the template from now on: CREATE DATABASE
	// … TEMPLATE fails while anyone is connected to it.
	if _, err := admin.Exec(ctx, "ALTER DATABASE "+quote(name)+" ALLOW_CONNECTIONS false"); err != nil {
		return fmt.Errorf("seal template database: %w", err)
	}
	if _, err := admin.Exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name); err != nil {
		return fmt.Errorf("close connections to template database: %w", err)
	}
	return nil
}

func (e *env) applySchema(ctx context.Context) error {
	if len(e.cfg.schema) == 0 {
		return nil
	}
	tmplURL, err := withDatabase(e.adminURL, e.template)
	if err != nil {
		return err
	}
	pool, err := pgxpool.New(ctx, tmplURL)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer pool.Close()
	for _, fn := range e.cfg.schema {
		if err := fn(ctx, pool); err != nil {
			return err
		}
	}
	return nil
}

func (e *env) create(ctx context.Context, name string) error {
	if _, err := e.admin.Exec(ctx, "CREATE DATABASE "+quote(name)+" TEMPLATE "+quote(e.template)); err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	return nil
}

func (e *env) drop(ctx context.Context, name string) error {
	// FORCE: a test that leaked a connection must not leak its database.
	if _, err := e.admin.Exec(ctx, "DROP DATABASE IF EXISTS "+quote(name)+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	return nil
}

// close undoes setup, if it ran: on an external server it drops the
// template; a throwaway server is simply stopped.
func (e *env) close() error {
	e.setupOnce.Do(func() {}) // no setup from now on
	var errs []error
	if e.admin != nil {
		if e.srv == nil && e.template != "" {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			errs = append(errs, e.drop(ctx, e.template))
			cancel()
		}
		e.admin.Close()
	}
	if e.srv != nil {
		errs = append(errs, e.srv.Stop())
	}
	return errors.Join(errs...)
}

// uniqueName makes a database name from a test's name, readable in
// pg_database when debugging and random enough that concurrent test
// processes sharing a server never collide. It stays under PostgreSQL's
// 63-byte limit.
func uniqueName(label string) (string, error) {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("random database name: %w", err)
	}
	var clean strings.Builder
	for _, r := range strings.ToLower(label) {
		if clean.Len() == 32 {
			break
		}
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			clean.WriteRune(r)
		} else if s := clean.String(); s != "" && !strings.HasSuffix(s, "_") {
			clean.WriteByte('_')
		}
	}
	return "dbtest_" + strings.TrimSuffix(clean.String(), "_") + "_" + hex.EncodeToString(b[:]), nil
}

// withDatabase returns the connection string connString pointing at
// database db instead, in either of the forms libpq and pgx accept.
func withDatabase(connString, db string) (string, error) {
	if strings.HasPrefix(connString, "postgres://") || strings.HasPrefix(connString, "postgresql://") {
		u, err := url.Parse(connString)
		if err != nil {
			return "", fmt.Errorf("parse database URL: %w", err)
		}
		u.Path, u.RawPath = "/"+db, ""
		q := u.Query()
		if q.Has("dbname") {
			q.Del("dbname")
			u.RawQuery = q.Encode()
		}
		return u.String(), nil
	}
	// Keyword/value form: a later keyword overrides an earlier one.
	return strings.TrimSpace(connString) + " dbname='" + db + "'", nil
}

// quote quotes a database name as an SQL identifier.
func quote(name string) string { return pgx.Identifier{name}.Sanitize() }

// redact hides a password in a connection string shown in an error.
func redact(connString string) string {
	if u, err := url.Parse(connString); err == nil && u.Scheme != "" {
		return u.Redacted()
	}
	return "the server in the keyword/value connection string"
}
