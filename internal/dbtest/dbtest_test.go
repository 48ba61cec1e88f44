package dbtest

import (
	"context"
	"fmt"
	"regexp"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

const testSchema = `
CREATE TABLE item (
	id   bigserial PRIMARY KEY,
	name text NOT NULL UNIQUE
);
CREATE INDEX item_name ON item (lower(name));
`

// seed runs after testSchema, to check that options apply in order.
func seed(ctx context.Context, pool *pgxpool.Pool) error {
	_, err := pool.Exec(ctx, "INSERT INTO item (name) VALUES ('seed')")
	return err
}

func TestMain(m *testing.M) {
	Main(m, WithSchemaSQL(testSchema), WithMigrate(seed))
}

func currentDatabase(t *testing.T, pool *pgxpool.Pool) string {
	t.Helper()
	var name string
	if err := pool.QueryRow(t.Context(), "SELECT current_database()").Scan(&name); err != nil {
		t.Fatalf("current_database: %v", err)
	}
	return name
}

func TestNewAppliesSchemaInOrder(t *testing.T) {
	t.Parallel()
	pool := New(t)
	rows, err := pool.Query(t.Context(), "SELECT name FROM item")
	if err != nil {
		t.Fatal(err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 1 || names[0] != "seed" {
		t.Errorf("new database holds %q, want just the seed row", names)
	}
}

// TestIsolation has two tests write the same unique key: they conflict only
// if they share a database.
func TestIsolation(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]bool{}
	t.Run("group", func(t *testing.T) {
		for i := range 2 {
			t.Run(fmt.Sprint(i), func(t *testing.T) {
				t.Parallel()
				pool := New(t)
				if _, err := pool.Exec(t.Context(), "INSERT INTO item (name) VALUES ('same')"); err != nil {
					t.Fatalf("insert: %v", err)
				}
				var n int
				if err := pool.QueryRow(t.Context(), "SELECT count(*) FROM item").Scan(&n); err != nil {
					t.Fatal(err)
				}
				if n != 2 {
					t.Errorf("database holds %d rows, want 2 (seed and own)", n)
				}
				mu.Lock()
				seen[currentDatabase(t, pool)] = true
				mu.Unlock()
			})
		}
	})
	if !t.Failed() && len(seen) != 2 {
		t.Errorf("two tests got databases %v, want two distinct ones", seen)
	}
}

func TestCleanupDropsDatabase(t *testing.T) {
	t.Parallel()
	var name string
	t.Run("user", func(t *testing.T) {
		ctx := t.Context()
		conn, err := pgx.Connect(ctx, NewURL(t))
		if err != nil {
			t.Fatal(err)
		}
		// Left open on purpose: the drop must not wait for it.
		if err := conn.QueryRow(ctx, "SELECT current_database()").Scan(&name); err != nil {
			t.Fatal(err)
		}
	})
	pool := New(t)
	var n int
	if err := pool.QueryRow(t.Context(), "SELECT count(*) FROM pg_database WHERE datname = $1", name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if name == "" || n != 0 {
		t.Errorf("database %q still exists after its test ended", name)
	}
}

func TestConcurrentNew(t *testing.T) {
	t.Parallel()
	for i := range 8 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			pool := New(t)
			if _, err := pool.Exec(t.Context(), "INSERT INTO item (name) VALUES ($1)", t.Name()); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestSharedExternalServer plays two test processes given the same
// TEST_DATABASE_URL: neither may see the other's databases, and both must
// leave the server as they found it.
func TestSharedExternalServer(t *testing.T) {
	t.Parallel()
	e := active.Load()
	if err := e.ready(); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	countOurs := func() int {
		t.Helper()
		var n int
		err := e.admin.QueryRow(ctx, "SELECT count(*) FROM pg_database WHERE datname LIKE 'dbtest_%shared%'").Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := countOurs()

	var procs [2]*env
	for i := range procs {
		procs[i] = &env{external: e.adminURL}
		WithSchemaSQL(testSchema)(&procs[i].cfg)
		if err := procs[i].ready(); err != nil {
			t.Fatalf("process %d: %v", i, err)
		}
	}
	if procs[0].template == procs[1].template {
		t.Fatalf("both processes use template %s", procs[0].template)
	}
	for i, p := range procs {
		name, err := uniqueName("shared")
		if err != nil {
			t.Fatal(err)
		}
		if err := p.create(ctx, name); err != nil {
			t.Fatalf("process %d: %v", i, err)
		}
		if err := p.drop(ctx, name); err != nil {
			t.Fatalf("process %d: %v", i, err)
		}
	}
	for i, p := range procs {
		if err := p.close(); err != nil {
			t.Errorf("process %d close: %v", i, err)
		}
		var n int
		if err := e.admin.QueryRow(ctx, "SELECT count(*) FROM pg_database WHERE datname = $1", p.template).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("process %d left its template %s", i, p.template)
		}
	}
	if after := countOurs(); after != before {
		t.Errorf("%d test databases before, %d after", before, after)
	}
}

func TestUniqueName(t *testing.T) {
	valid := regexp.MustCompile(`^dbtest_[a-z0-9_]*_[0-9a-f]{12}$`)
	for _, label := range []string{"TestFoo/sub case#01", "", "__", "Test" + string(make([]byte, 200))} {
		a, err := uniqueName(label)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := uniqueName(label)
		if !valid.MatchString(a) || len(a) > 63 || a == b {
			t.Errorf("uniqueName(%q) = %q, %q: want distinct valid identifiers of at most 63 bytes", label, a, b)
		}
	}
	if got, _ := uniqueName("TestFoo/sub case#01"); got[:len("dbtest_testfoo_sub_case_01_")] != "dbtest_testfoo_sub_case_01_" {
		t.Errorf("uniqueName lost the test name: %q", got)
	}
}

func TestWithDatabase(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"postgres://u:p@h:5/old?sslmode=disable", "postgres://u:p@h:5/new?sslmode=disable"},
		{"postgresql://h/?dbname=old&sslmode=disable", "postgresql://h/new?sslmode=disable"},
		{"postgres://h", "postgres://h/new"},
		{"host=/tmp dbname=old ", "host=/tmp dbname=old dbname='new'"},
	} {
		got, err := withDatabase(c.in, "new")
		if err != nil || got != c.want {
			t.Errorf("withDatabase(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
		if _, err := pgx.ParseConfig(got); err != nil {
			t.Errorf("pgx rejects %q: %v", got, err)
		}
	}
	cfg, err := pgx.ParseConfig("host=/tmp dbname=old dbname='new'")
	if err != nil || cfg.Database != "new" {
		t.Errorf("a later dbname does not win: %v, %v", cfg, err)
	}
}

// BenchmarkCreateDrop measures what each data test pays for its own
// database: a copy of the template, and its drop.
func BenchmarkCreateDrop(b *testing.B) {
	e := active.Load()
	if err := e.ready(); err != nil {
		b.Fatal(err)
	}
	ctx := b.Context()
	for b.Loop() {
		name, err := uniqueName("bench")
		if err != nil {
			b.Fatal(err)
		}
		if err := e.create(ctx, name); err != nil {
			b.Fatal(err)
		}
		if err := e.drop(ctx, name); err != nil {
			b.Fatal(err)
		}
	}
}
