package campaign_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/rs/zerolog"

	"github.com/broadcaster/broadcaster/campaign"
	"github.com/broadcaster/broadcaster/campaign/campaigntest"
	"github.com/broadcaster/broadcaster/db"
	"github.com/broadcaster/broadcaster/internal/dbtest"
)

// progressT0 is when the runs of the progress tests started.
var progressT0 = time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)

// progressDB is a database of the test's own with helpers that shape runs
// and deliveries with SQL, as the dispatcher would have left them.
type progressDB struct {
	t     *testing.T
	ctx   context.Context
	pool  *pgxpool.Pool
	store *db.Store
}

func newProgressDB(t *testing.T) *progressDB {
	t.Helper()
	pool := dbtest.New(t)
	return &progressDB{t: t, ctx: context.Background(), pool: pool, store: db.NewStore(pool, "test:1")}
}

func (p *progressDB) exec(sql string, args ...any) {
	p.t.Helper()
	if _, err := p.pool.Exec(p.ctx, sql, args...); err != nil {
		p.t.Fatalf("exec %q: %v", sql, err)
	}
}

// run inserts a campaign named name on account w1 and one run of it with
// the given status, started and finished at the given times (zero: NULL),
// and one delivery per entry of statuses, with attempts each.
func (p *progressDB) run(name string, status campaign.RunStatus, started, finished time.Time,
	attempts int, statuses ...campaign.DeliveryStatus) int64 {
	p.t.Helper()
	nullable := func(t time.Time) *time.Time {
		if t.IsZero() {
			return nil
		}
		return &t
	}
	var id int64
	err := p.pool.QueryRow(p.ctx, `
		WITH t AS (
			INSERT INTO applet_templates (name, img_url, content)
			VALUES ('t' || gen_random_uuid(), 'https://cdn.example.com/a.jpg', '<appmsg/>') RETURNING id
		), c AS (
			INSERT INTO campaigns (name, template_id, w_id) SELECT $1, t.id, 'w1' FROM t RETURNING id
		)
		INSERT INTO campaign_runs (campaign_id, scheduled_for, status, started_at, finished_at)
		SELECT c.id, $2, $3, $4, $5 FROM c RETURNING id`,
		name, progressT0, string(status), nullable(started), nullable(finished)).Scan(&id)
	if err != nil {
		p.t.Fatalf("insert run: %v", err)
	}
	strs := make([]string, len(statuses))
	for i, s := range statuses {
		strs[i] = string(s)
	}
	p.exec(`INSERT INTO deliveries (run_id, campaign_id, wc_id, status, attempts, run_created_at)
		SELECT r.id, r.campaign_id, 'wxid_' || n, s.status, CASE WHEN s.status = 'skipped' THEN 0 ELSE $3 END, r.created_at
		FROM campaign_runs r, unnest($2::text[]) WITH ORDINALITY AS s(status, n)
		WHERE r.id = $1`, id, strs, attempts)
	return id
}

// statuses repeats each status as many times as the number after it.
func statuses(pairs ...any) []campaign.DeliveryStatus {
	var out []campaign.DeliveryStatus
	for i := 0; i < len(pairs); i += 2 {
		for range pairs[i+1].(int) {
			out = append(out, pairs[i].(campaign.DeliveryStatus))
		}
	}
	return out
}

// checkLine reports the differences between a log line and the fields
// wanted; absent lists fields the line must not have.
func checkLine(t *testing.T, got map[string]any, want map[string]any, absent ...string) {
	t.Helper()
	for _, k := range slices.Sorted(maps.Keys(want)) {
		w := want[k]
		if n, ok := w.(int); ok {
			w = float64(n) // JSON numbers decode as float64
		}
		if n, ok := w.(int64); ok {
			w = float64(n)
		}
		if got[k] != w {
			t.Errorf("field %q = %v (%T), want %v; line %v", k, got[k], got[k], w, got)
		}
	}
	for _, k := range absent {
		if v, ok := got[k]; ok {
			t.Errorf("field %q = %v, want none; line %v", k, v, got)
		}
	}
}

func TestProgressLogsRunningRunsWithRateAndETA(t *testing.T) {
	t.Parallel()
	pdb := newProgressDB(t)
	running := pdb.run("spring sale", campaign.RunRunning, progressT0, time.Time{}, 1,
		statuses(campaign.DeliverySent, 3, campaign.DeliveryFailed, 1, campaign.DeliveryUnknown, 1,
			campaign.DeliveryPending, 3, campaign.DeliverySending, 1, campaign.DeliverySkipped, 1)...)
	pdb.run("finished", campaign.RunCompleted, progressT0, progressT0.Add(time.Minute), 1, statuses(campaign.DeliverySent, 2)...)
	pdb.run("not started", campaign.RunPending, time.Time{}, time.Time{}, 0, statuses(campaign.DeliveryPending, 2)...)

	clock := &campaigntest.Clock{}
	lines := newLogLines()
	p := campaign.NewProgress(pdb.store, clock, zerolog.New(lines), time.Hour)

	steps := []struct {
		name   string
		at     time.Duration // after progressT0
		sql    string        // run before the step
		want   map[string]any
		absent []string
	}{
		{
			name: "first line: rate since the run started",
			at:   10 * time.Second,
			want: map[string]any{"sent": 3, "failed": 1, "unknown": 1, "pending": 4, "skipped": 1,
				"rate": 0.5, "eta": "8s"},
		},
		{
			name: "rate since the previous line",
			at:   14 * time.Second,
			sql:  `UPDATE deliveries SET status = 'sent' WHERE id IN (SELECT id FROM deliveries WHERE status = 'pending' ORDER BY id LIMIT 2)`,
			want: map[string]any{"sent": 5, "pending": 2, "rate": 0.5, "eta": "4s"},
		},
		{
			name:   "nothing finished: rate 0, no ETA",
			at:     19 * time.Second,
			want:   map[string]any{"sent": 5, "pending": 2, "rate": 0.0},
			absent: []string{"eta"},
		},
		{
			name: "fractional rate and ETA rounded",
			at:   22 * time.Second,
			sql:  `UPDATE deliveries SET status = 'failed' WHERE id = (SELECT min(id) FROM deliveries WHERE status = 'pending')`,
			want: map[string]any{"failed": 2, "pending": 1, "rate": 0.33, "eta": "3s"},
		},
	}
	for _, st := range steps {
		if st.sql != "" {
			pdb.exec(st.sql)
		}
		clock.Set(progressT0.Add(st.at))
		if err := p.LogRunning(pdb.ctx); err != nil {
			t.Fatalf("%s: LogRunning: %v", st.name, err)
		}
		got := lines.take()
		if len(got) != 1 {
			t.Fatalf("%s: %d lines, want 1 (only the running run): %v", st.name, len(got), got)
		}
		want := map[string]any{"level": "info", "message": "run progress", "run_id": running,
			"campaign": "spring sale", "w_id": "w1", "total": 10}
		maps.Copy(want, st.want)
		t.Run(st.name, func(t *testing.T) { checkLine(t, got[0], want, st.absent...) })
	}
}

func TestProgressWithoutStartTimeHasNoFirstRate(t *testing.T) {
	t.Parallel()
	pdb := newProgressDB(t)
	// Running with no started_at: never so in practice, but a rate needs a base.
	pdb.run("odd", campaign.RunRunning, time.Time{}, time.Time{}, 1,
		statuses(campaign.DeliverySent, 1, campaign.DeliveryPending, 1)...)
	clock := campaigntest.NewClock(progressT0)
	lines := newLogLines()
	p := campaign.NewProgress(pdb.store, clock, zerolog.New(lines), 0)
	if err := p.LogRunning(pdb.ctx); err != nil {
		t.Fatal(err)
	}
	got := lines.take()
	if len(got) != 1 {
		t.Fatalf("%d lines, want 1: %v", len(got), got)
	}
	checkLine(t, got[0], map[string]any{"sent": 1, "pending": 1}, "rate", "eta")
}

func TestProgressCompletedLogsSummaries(t *testing.T) {
	t.Parallel()
	pdb := newProgressDB(t)
	S, F, U, K := campaign.DeliverySent, campaign.DeliveryFailed, campaign.DeliveryUnknown, campaign.DeliverySkipped
	done := pdb.run("spring sale", campaign.RunCompleted, progressT0, progressT0.Add(90*time.Second+500*time.Millisecond), 2,
		statuses(S, 6, F, 1, U, 1, K, 2)...)
	allSkipped := pdb.run("all suppressed", campaign.RunCompleted, time.Time{}, progressT0, 0, statuses(K, 3)...)
	cancelled := pdb.run("called off", campaign.RunCancelled, progressT0, progressT0.Add(time.Second), 1,
		statuses(S, 1, campaign.DeliveryPending, 3)...)

	lines := newLogLines()
	p := campaign.NewProgress(pdb.store, campaigntest.NewClock(progressT0), zerolog.New(lines), 0)
	if err := p.Completed(pdb.ctx, []int64{cancelled, done, allSkipped, 999999}); err != nil {
		t.Fatalf("Completed: %v", err)
	}
	got := lines.take()
	tests := []struct {
		name   string
		want   map[string]any
		absent []string
	}{
		{
			name: "completed run",
			want: map[string]any{"run_id": done, "campaign": "spring sale", "status": "completed",
				"total": 10, "sent": 6, "failed": 1, "unknown": 1, "skipped": 2, "attempts": 16,
				"duration": "1m30.5s", "success_rate": 0.75},
			absent: []string{"pending"},
		},
		{
			name:   "nothing sendable, never started",
			want:   map[string]any{"run_id": allSkipped, "total": 3, "skipped": 3, "attempts": 0},
			absent: []string{"duration", "success_rate"},
		},
		{
			name: "cancelled run says what was left",
			want: map[string]any{"run_id": cancelled, "status": "cancelled", "sent": 1, "pending": 3,
				"duration": "1s", "success_rate": 0.25},
		},
	}
	if len(got) != len(tests) {
		t.Fatalf("%d lines, want %d (in run id order, unknown ids ignored): %v", len(got), len(tests), got)
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := map[string]any{"level": "info", "message": "run summary"}
			maps.Copy(want, tt.want)
			checkLine(t, got[i], want, tt.absent...)
		})
	}

	if err := p.Completed(pdb.ctx, nil); err != nil || len(lines.take()) != 0 {
		t.Errorf("Completed(nil) = %v, or logged; want nothing", err)
	}
}

// completingStore is a DeliveryStore whose Record reports the runs given.
type completingStore struct {
	campaign.DeliveryStore
	completed []int64
	err       error
}

func (s completingStore) Record(context.Context, []campaign.Result) ([]int64, error) {
	return s.completed, s.err
}

func TestProgressDeliveryStoreLogsCompletedRuns(t *testing.T) {
	t.Parallel()
	pdb := newProgressDB(t)
	id := pdb.run("spring sale", campaign.RunCompleted, progressT0, progressT0.Add(time.Second), 1,
		statuses(campaign.DeliverySent, 2)...)
	tests := []struct {
		name      string
		completed []int64
		err       error
		lines     int
	}{
		{name: "a run completed", completed: []int64{id}, lines: 1},
		{name: "none completed", lines: 0},
		{name: "write failed", completed: []int64{id}, err: errors.New("connection refused"), lines: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lines := newLogLines()
			p := campaign.NewProgress(pdb.store, nil, zerolog.New(lines), 0)
			s := p.DeliveryStore(completingStore{completed: tt.completed, err: tt.err})
			got, err := s.Record(pdb.ctx, nil)
			if !errors.Is(err, tt.err) || !slices.Equal(got, tt.completed) {
				t.Errorf("Record = %v, %v; want the wrapped store's %v, %v", got, err, tt.completed, tt.err)
			}
			logged := lines.take()
			if len(logged) != tt.lines {
				t.Fatalf("%d lines, want %d: %v", len(logged), tt.lines, logged)
			}
			if tt.lines > 0 {
				checkLine(t, logged[0], map[string]any{"message": "run summary", "run_id": id, "sent": 2})
			}
		})
	}
}

func TestProgressRunLogsUntilCancelled(t *testing.T) {
	t.Parallel()
	pdb := newProgressDB(t)
	id := pdb.run("spring sale", campaign.RunRunning, progressT0, time.Time{}, 1,
		statuses(campaign.DeliverySent, 1, campaign.DeliveryPending, 1)...)
	lines := newLogLines()
	p := campaign.NewProgress(pdb.store, nil, zerolog.New(lines), 10*time.Millisecond)
	ctx, cancel := context.WithCancel(pdb.ctx)
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	for seen := 0; seen < 2; { // two intervals
		<-lines.added
		for _, l := range lines.take() {
			checkLine(t, l, map[string]any{"message": "run progress", "run_id": id})
			seen++
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v, want nil once its context ended", err)
	}
}
