package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/broadcaster/broadcaster/internal/child"
	"github.com/broadcaster/broadcaster/internal/pgtemp"
	"github.com/broadcaster/broadcaster/sender/sendertest"
)

// token is the fake API's token.
const token = "tok-bench-41d7"

// wID is the sending account of the one-account scenarios: the shape of
// the provider's example.
const wID = "0000016f-78bd-21c8-0001-29c4d004ae46"

// imgURL is the template's cover image.
const imgURL = "https://cdn.example.com/bench.jpg"

// quietTimeout bounds the wait for autovacuum to finish before a
// measurement starts.
const quietTimeout = 2 * time.Minute

// Rig is the harness's world: one PostgreSQL server for every scenario
// (each gets a database of its own), the binary, the applet sent.
type Rig struct {
	opts Options
	pg   *pgtemp.Server
	dir  string // the processes' working directory: no config.yaml
	seq  int    // numbers the scenarios' databases
}

// NewRig starts the PostgreSQL server.
func NewRig(ctx context.Context, opts Options) (_ *Rig, err error) {
	dir, err := os.MkdirTemp("", "broadcaster-bench-")
	if err != nil {
		return nil, err
	}
	if opts.Logs != nil {
		opts.Logs = &lockedWriter{w: opts.Logs} // processes write at once
	}
	r := &Rig{opts: opts, dir: dir}
	defer func() {
		if err != nil {
			r.Close()
		}
	}()
	settings := map[string]string{"full_page_writes": "on"}
	for k, v := range opts.PGSettings {
		settings[k] = v
	}
	r.pg, err = pgtemp.Start(ctx, pgtemp.Options{MaxConnections: 500, Settings: settings})
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	return r, nil
}

// Close stops the server and removes the working directory.
func (r *Rig) Close() {
	if r.pg != nil {
		_ = r.pg.Stop()
	}
	_ = os.RemoveAll(r.dir)
}

// world is one scenario's database and fake API.
type world struct {
	rig    *Rig
	dbName string
	dbURL  string
	api    *sendertest.Server
}

// newWorld creates and migrates a fresh database, and starts the fake API
// with the given latency.
func (r *Rig) newWorld(ctx context.Context, latency time.Duration) (_ *world, err error) {
	r.seq++
	w := &world{rig: r, dbName: "bench_" + strconv.Itoa(r.seq)}
	defer func() {
		if err != nil {
			w.close()
		}
	}()
	if err := r.superExec(ctx, "postgres", "CREATE DATABASE "+w.dbName); err != nil {
		return nil, fmt.Errorf("create database: %w", err)
	}
	u, err := url.Parse(r.pg.URL())
	if err != nil {
		return nil, err
	}
	u.Path = "/" + w.dbName
	w.dbURL = u.String()
	if w.api, err = sendertest.Start(sendertest.Config{Token: token, Latency: latency, Cheap: true}); err != nil {
		return nil, fmt.Errorf("fake API: %w", err)
	}
	p, err := w.start(nil, "migrate")
	if err != nil {
		return nil, err
	}
	if err := p.Succeed(ctx); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	return w, nil
}

// close stops the fake API and drops the database.
func (w *world) close() {
	if w.api != nil {
		_ = w.api.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_ = w.rig.superExec(ctx, "postgres", "DROP DATABASE IF EXISTS "+w.dbName+" WITH (FORCE)")
}

// env is broadcaster's environment: this world, no pacing unless the
// scenario sets it, JSON logs.
func (w *world) env(extra map[string]string) map[string]string {
	env := map[string]string{
		"DATABASE_URL":                       w.dbURL,
		"BROADCASTER_API_BASE_URL":           w.api.URL(),
		"BROADCASTER_API_TOKEN":              token,
		"BROADCASTER_RATE_LIMIT_PER_ACCOUNT": "0",
		"BROADCASTER_RATE_LIMIT_JITTER":      "0s",
		"BROADCASTER_LOG_FORMAT":             "json",
	}
	for k, v := range extra {
		env[k] = v
	}
	return env
}

// start starts broadcaster with args in this world.
func (w *world) start(env map[string]string, args ...string) (*child.Process, error) {
	return child.Start(child.Spec{Binary: w.rig.opts.Binary, Args: args, Dir: w.rig.dir, Env: w.env(env), Logs: w.rig.opts.Logs})
}

// exec runs statements in the world's database as the superuser.
func (w *world) exec(ctx context.Context, sql string, args ...any) error {
	return w.rig.superExec(ctx, w.dbName, sql, args...)
}

// superExec runs one statement in database dbName as the superuser.
func (r *Rig) superExec(ctx context.Context, dbName, sql string, args ...any) error {
	conn, err := r.connect(ctx, dbName)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql, args...)
	return err
}

// connect opens a connection to database dbName as the superuser.
func (r *Rig) connect(ctx context.Context, dbName string) (*pgx.Conn, error) {
	u, err := url.Parse(r.pg.URL())
	if err != nil {
		return nil, err
	}
	u.Path = "/" + dbName
	return pgx.Connect(ctx, u.String())
}

// seedTemplate inserts the applet template and returns its id.
func (w *world) seedTemplate(ctx context.Context) (int64, error) {
	conn, err := w.rig.connect(ctx, w.dbName)
	if err != nil {
		return 0, err
	}
	defer conn.Close(context.Background())
	var id int64
	err = conn.QueryRow(ctx, `INSERT INTO applet_templates (name, img_url, content) VALUES ('bench', $1, $2) RETURNING id`,
		imgURL, w.rig.opts.AppMsg).Scan(&id)
	return id, err
}

// seedInline inserts one campaign per account, due now, each to perAccount
// inline recipients of its own.
func (w *world) seedInline(ctx context.Context, accounts, perAccount int) error {
	tmpl, err := w.seedTemplate(ctx)
	if err != nil {
		return fmt.Errorf("seed template: %w", err)
	}
	err = w.exec(ctx, `
		INSERT INTO campaigns (name, template_id, w_id, recipients)
		SELECT 'bench ' || a, $1, CASE WHEN $2::int = 1 THEN $4 ELSE 'wid-bench-' || a END,
		       (SELECT array_agg('wxid_' || a || '_' || g) FROM generate_series(1, $3::int) g)
		FROM generate_series(1, $2::int) a`, tmpl, accounts, perAccount, wID)
	if err != nil {
		return fmt.Errorf("seed campaigns: %w", err)
	}
	return nil
}

// seedList inserts one list of n members and one campaign, due now, to it.
func (w *world) seedList(ctx context.Context, n int) error {
	tmpl, err := w.seedTemplate(ctx)
	if err != nil {
		return fmt.Errorf("seed template: %w", err)
	}
	err = w.exec(ctx, `
		WITH l AS (INSERT INTO recipient_lists (name) VALUES ('bench') RETURNING id),
		     m AS (INSERT INTO recipient_list_members (list_id, wc_id)
		           SELECT l.id, 'wxid_' || g FROM l, generate_series(1, $2::int) g)
		INSERT INTO campaigns (name, template_id, w_id, list_ids) SELECT 'bench', $1, $3, ARRAY[l.id] FROM l`,
		tmpl, n, wID)
	if err != nil {
		return fmt.Errorf("seed list: %w", err)
	}
	return nil
}

// quiesce readies the server for a measurement: the seed is vacuumed and
// analysed (so that autovacuum has nothing of it left to do during the
// run; the tables broadcaster writes are left alone), a checkpoint taken,
// and no autovacuum worker is running.
func (w *world) quiesce(ctx context.Context) error {
	for _, sql := range []string{
		`VACUUM (ANALYZE) applet_templates, campaigns, recipient_lists, recipient_list_members`,
		`CHECKPOINT`,
	} {
		if err := w.exec(ctx, sql); err != nil {
			return fmt.Errorf("%s: %w", sql, err)
		}
	}
	conn, err := w.rig.connect(ctx, "postgres")
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	deadline := time.Now().Add(quietTimeout)
	for {
		var n int
		err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'`).Scan(&n)
		if err != nil || n == 0 {
			return err
		}
		if time.Now().After(deadline) {
			return errors.New("autovacuum still running after " + quietTimeout.String())
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// dbCounters is what the database has written so far.
type dbCounters struct {
	wal   int64 // bytes of WAL ever written
	bytes int64 // every table of the schema, indexes and TOAST included
}

// counters reads the database's counters.
func (w *world) counters(ctx context.Context) (dbCounters, error) {
	var c dbCounters
	conn, err := w.rig.connect(ctx, w.dbName)
	if err != nil {
		return c, err
	}
	defer conn.Close(context.Background())
	err = conn.QueryRow(ctx, `
		SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint,
		       (SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint
		        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		        WHERE n.nspname = 'public' AND c.relkind = 'r')`).Scan(&c.wal, &c.bytes)
	return c, err
}

// countSent is how many deliveries the database holds as sent.
func (w *world) countSent(ctx context.Context) (int, error) {
	conn, err := w.rig.connect(ctx, w.dbName)
	if err != nil {
		return 0, err
	}
	defer conn.Close(context.Background())
	var n int
	err = conn.QueryRow(ctx, `SELECT count(*) FROM deliveries WHERE status = 'sent'`).Scan(&n)
	return n, err
}

// runCreatedAt is when the transaction that created the (first) run began:
// the start of its fan-out.
func (w *world) runCreatedAt(ctx context.Context) (time.Time, error) {
	conn, err := w.rig.connect(ctx, w.dbName)
	if err != nil {
		return time.Time{}, err
	}
	defer conn.Close(context.Background())
	var t time.Time
	err = conn.QueryRow(ctx, `SELECT min(created_at) FROM campaign_runs`).Scan(&t)
	return t, err
}

// lockedWriter serialises the writes of several processes' log readers.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
