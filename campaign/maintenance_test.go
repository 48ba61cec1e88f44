package campaign_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/rs/zerolog"

	"github.com/broadcaster/broadcaster/campaign"
	"github.com/broadcaster/broadcaster/campaign/campaigntest"
	"github.com/broadcaster/broadcaster/db"
	"github.com/broadcaster/broadcaster/internal/dbtest"
)

// monthWithRun creates at's month partitions and a completed run created at
// at with one sent delivery there.
func monthWithRun(t *testing.T, pool *pgxpool.Pool, at time.Time) {
	t.Helper()
	if _, err := pool.Exec(context.Background(), `SELECT broadcaster_ensure_partitions($1, 0)`, at); err != nil {
		t.Fatal(err)
	}
	_, err := pool.Exec(context.Background(), `
		WITH tm AS (INSERT INTO applet_templates (name, img_url, content)
		            VALUES ('m', 'https://cdn.example.com/m.jpg', '<appmsg/>') RETURNING id),
		     c AS (INSERT INTO campaigns (name, template_id, w_id, recipients, status)
		           SELECT 'm', id, 'w', '{wxid_m}', 'completed' FROM tm RETURNING id),
		     r AS (INSERT INTO campaign_runs (campaign_id, scheduled_for, status, created_at, finished_at)
		           SELECT id, $1, 'completed', $1, $1 FROM c RETURNING id, campaign_id)
		INSERT INTO deliveries (run_id, campaign_id, wc_id, status, run_created_at)
		SELECT r.id, r.campaign_id, 'wxid_m', 'sent', $1 FROM r`, at)
	if err != nil {
		t.Fatal(err)
	}
}

// A pass creates partitions ahead every time, and prunes only when
// retention.prune_after is set.
func TestMaintenancePass(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.New(t)
	now := time.Date(2031, time.March, 10, 0, 0, 0, 0, time.UTC)
	old := time.Date(2030, time.October, 2, 0, 0, 0, 0, time.UTC)
	monthWithRun(t, pool, old)
	store := db.NewRetention(pool, "test")
	exists := func(name string) bool {
		t.Helper()
		var n int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM broadcaster_partitions WHERE deliveries_partition = $1`, name).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n == 1
	}

	var logs bytes.Buffer
	off := campaign.NewMaintenance(store, campaigntest.NewClock(now), zerolog.New(&logs), campaign.MaintenanceConfig{})
	if err := off.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	for _, month := range []string{"2031_03", "2031_04", "2031_05"} {
		if !exists("deliveries_p" + month) {
			t.Errorf("partition %s not created ahead", month)
		}
	}
	if !strings.Contains(logs.String(), `"created":3`) || !exists("deliveries_p2030_10") {
		t.Errorf("with prune_after 0: created ahead and kept October expected; log:\n%s", logs.String())
	}

	logs.Reset()
	on := campaign.NewMaintenance(store, campaigntest.NewClock(now), zerolog.New(&logs), campaign.MaintenanceConfig{PruneAfter: 90 * 24 * time.Hour})
	if err := on.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	if exists("deliveries_p2030_10") || !strings.Contains(logs.String(), `"partition":"deliveries_p2030_10"`) {
		t.Errorf("with prune_after 90d: October should be pruned and logged; log:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), "created ahead") {
		t.Errorf("a second pass created partitions again:\n%s", logs.String())
	}
}

// Run makes its first pass at once and returns when its context ends.
func TestMaintenanceRunStops(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	passed := make(chan struct{}, 1)
	m := campaign.NewMaintenance(notifyingStore{db.NewRetention(pool, "test"), passed}, nil, zerolog.Nop(), campaign.MaintenanceConfig{})
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	<-passed
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v, want nil at the end of its context", err)
	}
}

// notifyingStore tells when the first pass created partitions.
type notifyingStore struct {
	*db.Retention
	passed chan struct{}
}

func (s notifyingStore) EnsurePartitions(ctx context.Context, now time.Time, monthsAhead int) (int, error) {
	n, err := s.Retention.EnsurePartitions(ctx, now, monthsAhead)
	select {
	case s.passed <- struct{}{}:
	default:
	}
	return n, err
}

// A failed pass is tried again after RetryAfter, not at the next hourly
// pass: a deadlock with a claim or a result write is over in a moment.
func TestMaintenanceRetriesAFailedPass(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	store := &failingOnce{Retention: db.NewRetention(pool, "test"), passed: make(chan int, 4)}
	m := campaign.NewMaintenance(store, nil, zerolog.Nop(), campaign.MaintenanceConfig{RetryAfter: 10 * time.Millisecond})
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	if call := <-store.passed; call != 1 {
		t.Fatalf("first pass is call %d", call)
	}
	if call := <-store.passed; call != 2 {
		t.Fatalf("retry is call %d", call)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
}

// failingOnce fails its first EnsurePartitions as a deadlock victim would,
// and numbers the calls on passed.
type failingOnce struct {
	*db.Retention
	calls  int
	passed chan int
}

func (s *failingOnce) EnsurePartitions(ctx context.Context, now time.Time, monthsAhead int) (int, error) {
	s.calls++
	defer func() { s.passed <- s.calls }()
	if s.calls == 1 {
		return 0, errors.New("ERROR: deadlock detected (SQLSTATE 40P01)")
	}
	return s.Retention.EnsurePartitions(ctx, now, monthsAhead)
}
