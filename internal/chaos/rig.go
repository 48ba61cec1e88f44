// Package chaos runs fault experiments against the real broadcaster binary:
// a throwaway PostgreSQL server of its own that an experiment stops and
// starts, the fake sendApplet API (which records every request and what it
// answered), and broadcaster processes that it kills or stops. Each
// experiment ends with everything sent or given up, and a Tally compares
// what the API confirmed with what the database recorded.
//
// The end-to-end tests of cmd/broadcaster assert on its tallies; `make
// chaos` (cmd/chaos) runs every experiment and prints them as a table.
package chaos

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/broadcaster/broadcaster/internal/child"
	"github.com/broadcaster/broadcaster/internal/pgtemp"
	"github.com/broadcaster/broadcaster/sender/sendertest"
)

// token is the fake API's token.
const token = "tok-chaos-5c1e"

// Options describe the world an experiment runs in.
type Options struct {
	// Binary is the broadcaster binary to run.
	Binary string
	// Recipients is the size of the one campaign sent (300).
	Recipients int
	// Concurrency is workers.concurrency (8).
	Concurrency int
	// Latency is the fake API's answer time (10ms).
	Latency time.Duration
	// Journal turns results.journal on, in the rig's directory.
	Journal bool
	// Outage is how long PostgresRestart keeps the database down once the
	// fault has shown (3s: long enough for the writer of results to back
	// off for seconds, as it would in a real outage).
	Outage time.Duration
	// Logs receives every broadcaster process's log lines (nil: dropped).
	Logs io.Writer
}

func (o Options) withDefaults() Options {
	if o.Recipients <= 0 {
		o.Recipients = 300
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 8
	}
	if o.Latency == 0 {
		o.Latency = 10 * time.Millisecond
	}
	if o.Outage == 0 {
		o.Outage = 3 * time.Second
	}
	return o
}

// Rig is one experiment's world.
type Rig struct {
	Opts Options
	// PG is the rig's own server, which experiments Halt and Resume.
	PG *pgtemp.Server
	// API is the fake sendApplet API.
	API *sendertest.Server
	// Journal is the path of results.journal, "" when off.
	Journal string

	dir string
	mu  sync.Mutex
	env map[string]string
	ps  []*child.Process
}

// NewRig starts a server and the fake API, migrates, and inserts one
// campaign due now to Opts.Recipients recipients.
func NewRig(ctx context.Context, opts Options) (_ *Rig, err error) {
	opts = opts.withDefaults()
	if opts.Binary == "" {
		return nil, errors.New("chaos: no broadcaster binary given")
	}
	if opts.Binary, err = filepath.Abs(opts.Binary); err != nil { // processes run in the rig's directory
		return nil, fmt.Errorf("chaos: %w", err)
	}
	dir, err := os.MkdirTemp("", "broadcaster-chaos-")
	if err != nil {
		return nil, fmt.Errorf("chaos: %w", err)
	}
	r := &Rig{Opts: opts, dir: dir}
	defer func() {
		if err != nil {
			r.Close()
		}
	}()
	if r.PG, err = pgtemp.Start(ctx, pgtemp.Options{Database: "broadcaster", MaxConnections: 100}); err != nil {
		return nil, fmt.Errorf("chaos: %w", err)
	}
	if r.API, err = sendertest.Start(sendertest.Config{Token: token, Latency: opts.Latency}); err != nil {
		return nil, fmt.Errorf("chaos: fake API: %w", err)
	}
	r.env = map[string]string{
		"DATABASE_URL":                        r.PG.URL(),
		"BROADCASTER_API_BASE_URL":            r.API.URL(),
		"BROADCASTER_API_TOKEN":               token,
		"BROADCASTER_API_TIMEOUT":             "1s", // a dead process's claims are reaped after 9s
		"BROADCASTER_WORKERS_CONCURRENCY":     strconv.Itoa(opts.Concurrency),
		"BROADCASTER_RATE_LIMIT_PER_ACCOUNT":  "0",
		"BROADCASTER_RATE_LIMIT_JITTER":       "0s",
		"BROADCASTER_RETRY_BACKOFF":           "5ms",
		"BROADCASTER_RETRY_MAX_BACKOFF":       "20ms",
		"BROADCASTER_SCHEDULER_POLL_INTERVAL": "200ms",
		"BROADCASTER_LOG_FORMAT":              "json",
	}
	if opts.Journal {
		r.Journal = filepath.Join(dir, "results.journal")
		r.env["BROADCASTER_RESULTS_JOURNAL"] = r.Journal
	}
	if code, err := r.Run(ctx, "migrate"); err != nil || code != 0 {
		return nil, fmt.Errorf("chaos: migrate: exit %d: %v", code, err)
	}
	err = r.Exec(ctx, `
		WITH t AS (INSERT INTO applet_templates (name, img_url, content)
		           VALUES ('chaos', 'https://cdn.example.com/c.jpg', '<appmsg><title>hi</title></appmsg>') RETURNING id)
		INSERT INTO campaigns (name, template_id, w_id, recipients)
		SELECT 'chaos', t.id, 'wid-chaos', array_agg('wxid_' || g) FROM t, generate_series(1, $1::int) g GROUP BY t.id`,
		opts.Recipients)
	if err != nil {
		return nil, fmt.Errorf("chaos: insert campaign: %w", err)
	}
	if err := r.useRole(ctx); err != nil {
		return nil, fmt.Errorf("chaos: %w", err)
	}
	return r, nil
}

// role is the database role broadcaster runs as, not a superuser, so that
// an experiment can take rights away from it.
const role = "chaos_app"

// useRole creates role with every right on broadcaster's tables, and makes
// it the one broadcaster connects as (migrate ran as the owner).
func (r *Rig) useRole(ctx context.Context) error {
	for _, sql := range []string{
		`CREATE ROLE ` + role + ` LOGIN`,
		`GRANT ALL ON ALL TABLES IN SCHEMA public TO ` + role,
		`GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO ` + role,
	} {
		if err := r.Exec(ctx, sql); err != nil {
			return fmt.Errorf("%s: %w", sql, err)
		}
	}
	u, err := url.Parse(r.PG.URL())
	if err != nil {
		return err
	}
	u.User = url.User(role)
	r.SetEnv("DATABASE_URL", u.String())
	return nil
}

// attemptsSeq names the sequence of delivery_attempts' ids in SQL.
const attemptsSeq = `pg_get_serial_sequence('delivery_attempts', 'id')`

// BlockWrites takes from broadcaster's role the right to insert attempts,
// as a botched grant would: it can still claim deliveries and send them,
// but every write of results fails at once (and nothing more is recorded).
func (r *Rig) BlockWrites(ctx context.Context) error {
	return r.Exec(ctx, `DO $$ BEGIN EXECUTE format('REVOKE ALL ON SEQUENCE %s FROM `+role+`', `+attemptsSeq+`); END $$`)
}

// AllowWrites gives the right back.
func (r *Rig) AllowWrites(ctx context.Context) error {
	return r.Exec(ctx, `DO $$ BEGIN EXECUTE format('GRANT ALL ON SEQUENCE %s TO `+role+`', `+attemptsSeq+`); END $$`)
}

// Close kills what is still running, stops the server and the API, and
// removes the rig's directory.
func (r *Rig) Close() {
	r.mu.Lock()
	ps := r.ps
	r.mu.Unlock()
	for _, p := range ps {
		_ = p.Kill()
	}
	if r.API != nil {
		_ = r.API.Close()
	}
	if r.PG != nil {
		_ = r.PG.Stop()
	}
	_ = os.RemoveAll(r.dir)
}

// SetEnv changes the environment of the processes started from now on.
func (r *Rig) SetEnv(key, value string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.env[key] = value
}

func (r *Rig) environ() map[string]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.env)
}

// Exec runs one statement as the server's superuser, on a connection of its
// own: the server may have restarted since the last one.
func (r *Rig) Exec(ctx context.Context, sql string, args ...any) error {
	conn, err := pgx.Connect(ctx, r.PG.URL())
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql, args...)
	return err
}

// Count runs a query returning one number.
func (r *Rig) Count(ctx context.Context, sql string, args ...any) (int, error) {
	conn, err := pgx.Connect(ctx, r.PG.URL())
	if err != nil {
		return 0, err
	}
	defer conn.Close(context.Background())
	var n int
	err = conn.QueryRow(ctx, sql, args...).Scan(&n)
	return n, err
}

// pollEvery is how often conditions on the database are checked.
const pollEvery = 50 * time.Millisecond

// WaitDatabase waits until the query's number satisfies cond.
func (r *Rig) WaitDatabase(ctx context.Context, what, sql string, cond func(int) bool) error {
	for {
		n, err := r.Count(ctx, sql)
		if err == nil && cond(n) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s (last: %d, %v): %w", what, n, err, ctx.Err())
		case <-time.After(pollEvery):
		}
	}
}

// WaitAPI waits until the fake API's counts satisfy cond.
func (r *Rig) WaitAPI(ctx context.Context, what string, cond func(sendertest.Stats) bool) error {
	if err := r.API.Wait(ctx, cond); err != nil {
		return fmt.Errorf("waiting for %s (API: %+v): %w", what, r.API.Stats(), err)
	}
	return nil
}
