package db_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/broadcaster/broadcaster/campaign"
	"github.com/broadcaster/broadcaster/db"
	"github.com/broadcaster/broadcaster/internal/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m, dbtest.WithMigrate(db.Migrate)) }

// fixture is a migrated database of the test's own and helpers that insert
// rows the way operators do, with SQL.
type fixture struct {
	t     *testing.T
	ctx   context.Context
	pool  *pgxpool.Pool
	store *db.Store
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f, _ := newFixtureURL(t)
	return f
}

// newFixtureURL is newFixture for tests that also connect on their own.
func newFixtureURL(t *testing.T) (*fixture, string) {
	t.Helper()
	url := dbtest.NewURL(t)
	pool, err := db.Open(context.Background(), url, 8)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return &fixture{t: t, ctx: context.Background(), pool: pool, store: db.NewStore(pool, "test:1")}, url
}

func (f *fixture) exec(sql string, args ...any) {
	f.t.Helper()
	if _, err := f.pool.Exec(f.ctx, sql, args...); err != nil {
		f.t.Fatalf("exec %q: %v", sql, err)
	}
}

func (f *fixture) int64(sql string, args ...any) int64 {
	f.t.Helper()
	var v int64
	if err := f.pool.QueryRow(f.ctx, sql, args...).Scan(&v); err != nil {
		f.t.Fatalf("query %q: %v", sql, err)
	}
	return v
}

func (f *fixture) str(sql string, args ...any) string {
	f.t.Helper()
	var v string
	if err := f.pool.QueryRow(f.ctx, sql, args...).Scan(&v); err != nil {
		f.t.Fatalf("query %q: %v", sql, err)
	}
	return v
}

func (f *fixture) template() int64 {
	f.t.Helper()
	return f.int64(`INSERT INTO applet_templates (name, img_url, content)
		VALUES ('t' || gen_random_uuid(), 'https://cdn.example.com/a.jpg', '<appmsg><title>{{wcId}}</title></appmsg>') RETURNING id`)
}

// campaign inserts an active one-shot campaign due now.
func (f *fixture) campaign(recipients []string, lists ...int64) int64 {
	f.t.Helper()
	if lists == nil {
		lists = []int64{}
	}
	return f.int64(`INSERT INTO campaigns (name, template_id, w_id, recipients, list_ids, start_at)
		VALUES ('c', $1, 'w1', $2, $3, now() - interval '1 second') RETURNING id`, f.template(), recipients, lists)
}

func (f *fixture) list(members ...string) int64 {
	f.t.Helper()
	id := f.int64(`INSERT INTO recipient_lists (name) VALUES ('l' || gen_random_uuid()) RETURNING id`)
	f.exec(`INSERT INTO recipient_list_members (list_id, wc_id) SELECT $1, unnest($2::text[])`, id, members)
	return id
}

func (f *fixture) run(campaignID int64) campaign.Run {
	f.t.Helper()
	r, err := f.store.CreateRun(f.ctx, campaignID, f.now())
	if err != nil {
		f.t.Fatalf("CreateRun: %v", err)
	}
	return r
}

func (f *fixture) now() (t time.Time) {
	f.t.Helper()
	if err := f.pool.QueryRow(f.ctx, `SELECT now()`).Scan(&t); err != nil {
		f.t.Fatalf("now: %v", err)
	}
	return t
}

func (f *fixture) claim(limit int) []campaign.Delivery {
	f.t.Helper()
	ds, err := f.store.Claim(f.ctx, campaign.ClaimParams{EnsureAccounts: true, Limit: limit, Lease: time.Minute})
	if err != nil {
		f.t.Fatalf("Claim: %v", err)
	}
	return ds
}

func (f *fixture) record(results ...campaign.Result) []int64 {
	f.t.Helper()
	done, err := f.store.Record(f.ctx, results)
	if err != nil {
		f.t.Fatalf("Record: %v", err)
	}
	return done
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }
