package db_test

import (
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/broadcaster/broadcaster/campaign"
	"github.com/broadcaster/broadcaster/campaign/campaigntest"
	"github.com/broadcaster/broadcaster/db"
	"github.com/broadcaster/broadcaster/internal/archive"
)

// oldRun inserts a run created at createdAt with status, and n deliveries
// (sent, one attempt each) in the partition of that month, which it creates
// with broadcaster_ensure_partitions at that time, as the daemon would have.
func (f *fixture) oldRun(createdAt time.Time, status string, n int) int64 {
	f.t.Helper()
	f.exec(`SELECT broadcaster_ensure_partitions($1, 0)`, createdAt)
	cid := f.campaign([]string{"wxid_old"})
	f.exec(`UPDATE campaigns SET status = 'completed' WHERE id = $1`, cid)
	run := f.int64(`INSERT INTO campaign_runs (campaign_id, scheduled_for, status, created_at, started_at, finished_at)
		VALUES ($1, $2, $3, $2, $2, CASE WHEN $3 IN ('completed', 'cancelled') THEN $2::timestamptz END) RETURNING id`, cid, createdAt, status)
	f.exec(`INSERT INTO deliveries (run_id, campaign_id, wc_id, status, attempts, run_created_at, sent_at)
		SELECT $1, $2, 'wxid_' || g, 'sent', 1, $3, $3 FROM generate_series(1, $4::int) g`, run, cid, createdAt, n)
	f.exec(`INSERT INTO delivery_attempts (delivery_id, attempt, started_at, outcome, code, run_created_at)
		SELECT id, 1, $2, 'sent', '1000', run_created_at FROM deliveries WHERE run_id = $1`, run, createdAt)
	return run
}

func (f *fixture) partitionExists(name string) bool {
	f.t.Helper()
	return f.int64(`SELECT count(*) FROM broadcaster_partitions WHERE deliveries_partition = $1`, name) == 1
}

func TestPruneArchivesAndDropsOldMonths(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	jan := time.Date(2025, time.January, 15, 10, 0, 0, 0, time.UTC)
	done := f.oldRun(jan, "completed", 3)
	f.oldRun(time.Date(2025, time.February, 3, 0, 0, 0, 0, time.UTC), "running", 2)
	before := f.str(`SELECT concat_ws(',', total, sent, failed, attempts) FROM campaign_run_summary WHERE run_id = $1`, done)

	dir := t.TempDir()
	m := campaign.NewMaintenance(db.NewRetention(f.pool, "test"), campaigntest.NewClock(time.Date(2025, time.December, 1, 0, 0, 0, 0, time.UTC)),
		zerolog.Nop(), campaign.MaintenanceConfig{})

	dry, err := m.Prune(f.ctx, campaign.PruneRequest{OlderThan: 90 * 24 * time.Hour, ArchiveDir: dir, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	verdicts := map[string]campaign.PruneResult{}
	for _, r := range dry {
		verdicts[r.Deliveries] = r
	}
	if r := verdicts["deliveries_p2025_01"]; !r.Drop || r.Dropped || r.Rows != 3 {
		t.Errorf("dry run, January: %+v; want would drop, 3 rows", r)
	}
	if r := verdicts["deliveries_p2025_02"]; r.Drop || r.OpenRuns != 1 || r.Reason != "1 open run" {
		t.Errorf("dry run, February: %+v; want kept for its open run", r)
	}
	if r := verdicts["deliveries_default"]; r.Drop || r.Kind != campaign.PartitionDefault {
		t.Errorf("dry run, default: %+v", r)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 || !f.partitionExists("deliveries_p2025_01") {
		t.Fatalf("the dry run changed something: archive %v, January there %v", entries, f.partitionExists("deliveries_p2025_01"))
	}

	results, err := m.Prune(f.ctx, campaign.PruneRequest{OlderThan: 90 * 24 * time.Hour, ArchiveDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	var dropped []string
	for _, r := range results {
		if r.Dropped {
			dropped = append(dropped, r.Deliveries)
		}
	}
	if len(dropped) != 1 || dropped[0] != "deliveries_p2025_01" {
		t.Fatalf("dropped %v, want only deliveries_p2025_01", dropped)
	}
	if f.partitionExists("deliveries_p2025_01") || !f.partitionExists("deliveries_p2025_02") {
		t.Error("January should be gone and February (open run) kept")
	}
	if n := f.int64(`SELECT count(*) FROM pg_class WHERE relname IN ('deliveries_p2025_01', 'delivery_attempts_p2025_01')`); n != 0 {
		t.Errorf("%d tables of the pair remain", n)
	}
	if after := f.str(`SELECT concat_ws(',', total, sent, failed, attempts) FROM campaign_run_summary WHERE run_id = $1`, done); after != before || after != "3,3,0,3" {
		t.Errorf("summary after the prune = %s, before %s; want 3,3,0,3", after, before)
	}

	pairDir := filepath.Join(dir, "deliveries_p2025_01")
	man, err := archive.ReadManifest(pairDir)
	if err != nil {
		t.Fatal(err)
	}
	if man.Partition != "deliveries_p2025_01" || man.AttemptsPartition != "delivery_attempts_p2025_01" || man.Kind != "month" ||
		man.RangeFrom == nil || !man.RangeFrom.Equal(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)) ||
		!man.RangeTo.Equal(time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC)) || man.Version != "test" || len(man.Files) != 2 {
		t.Fatalf("manifest = %+v", man)
	}
	for i, want := range []struct {
		name, table string
		rows        int64
	}{{db.DeliveriesArchive, "deliveries", 3}, {db.AttemptsArchive, "delivery_attempts", 3}} {
		file := man.Files[i]
		if file.Name != want.name || file.Table != want.table || file.Rows != want.rows {
			t.Errorf("manifest file %d = %+v, want %s of %s with %d rows", i, file, want.name, want.table, want.rows)
		}
		records := readCSVGz(t, filepath.Join(pairDir, file.Name))
		if int64(len(records)-1) != file.Rows || len(records[0]) != len(file.Columns) || records[0][0] != "id" {
			t.Errorf("%s holds %d records with header %v; manifest says %d rows, columns %v", file.Name, len(records)-1, records[0], file.Rows, file.Columns)
		}
	}
}

// Two instances pruning the same month at once: one drops it, the other
// finds it gone, and neither fails.
func TestPruneTwiceAtOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.oldRun(time.Date(2025, time.March, 1, 0, 0, 0, 0, time.UTC), "completed", 2)
	store := db.NewRetention(f.pool, "test")
	_, parts, err := store.Partitions(f.ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	var march campaign.Partition
	for _, p := range parts {
		if p.Deliveries == "deliveries_p2025_03" {
			march = p
		}
	}
	if march.Kind != campaign.PartitionMonth {
		t.Fatalf("no March partition in %+v", parts)
	}
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() { _, errs[i] = store.DropPartition(f.ctx, march, filepath.Join(t.TempDir(), "a")) })
	}
	wg.Wait()
	gone := 0
	for _, err := range errs {
		switch {
		case errors.Is(err, campaign.ErrPartitionGone):
			gone++
		case err != nil:
			t.Errorf("DropPartition: %v", err)
		}
	}
	if gone != 1 || f.partitionExists("deliveries_p2025_03") {
		t.Errorf("%d of 2 found it gone, partition there %v; want exactly 1 and gone", gone, f.partitionExists("deliveries_p2025_03"))
	}
}

// The database's own refusals reach the domain as sentinel errors; a failed
// archive drops nothing.
func TestDropPartitionRefusals(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.oldRun(time.Date(2025, time.April, 2, 0, 0, 0, 0, time.UTC), "running", 1)
	f.oldRun(time.Date(2025, time.May, 2, 0, 0, 0, 0, time.UTC), "completed", 1)
	store := db.NewRetention(f.pool, "test")
	_, parts, err := store.Partitions(f.ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]campaign.Partition{}
	for _, p := range parts {
		byName[p.Deliveries] = p
	}
	if _, err := store.DropPartition(f.ctx, byName["deliveries_p2025_04"], ""); !errors.Is(err, campaign.ErrPartitionInUse) {
		t.Errorf("dropping a partition with an open run: %v, want ErrPartitionInUse", err)
	}
	if _, err := store.DropPartition(f.ctx, byName["deliveries_default"], ""); !errors.Is(err, campaign.ErrPartitionInUse) {
		t.Errorf("dropping the default partition: %v, want ErrPartitionInUse", err)
	}
	notADir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notADir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := store.DropPartition(f.ctx, byName["deliveries_p2025_05"], notADir); err == nil || errors.Is(err, campaign.ErrPartitionGone) {
		t.Errorf("archiving into a file: %v, want an error", err)
	}
	if !f.partitionExists("deliveries_p2025_04") || !f.partitionExists("deliveries_p2025_05") || !f.partitionExists("deliveries_default") {
		t.Error("a refused or failed drop dropped something")
	}
}

func readCSVGz(t *testing.T, path string) [][]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	gz, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(gz)
	if err != nil {
		t.Fatal(err)
	}
	records, err := csv.NewReader(bytes.NewReader(plain)).ReadAll()
	if err != nil || len(records) == 0 {
		t.Fatalf("%s: %d records, %v", path, len(records), err)
	}
	return records
}

// legacyRun inserts a run created at createdAt whose n deliveries and
// attempts predate partitioning: run_created_at -infinity, in the legacy pair.
func (f *fixture) legacyRun(createdAt time.Time, n int) int64 {
	f.t.Helper()
	cid := f.campaign([]string{"wxid_legacy"})
	run := f.int64(`INSERT INTO campaign_runs (campaign_id, scheduled_for, status, created_at, finished_at)
		VALUES ($1, $2, 'completed', $2, $2) RETURNING id`, cid, createdAt)
	f.exec(`INSERT INTO deliveries (run_id, campaign_id, wc_id, status, attempts, run_created_at)
		SELECT $1, $2, 'wxid_' || g, 'failed', 1, '-infinity' FROM generate_series(1, $3::int) g`, run, cid, n)
	f.exec(`INSERT INTO delivery_attempts (delivery_id, attempt, started_at, outcome, code, run_created_at)
		SELECT id, 1, $2, 'failed', '1002', '-infinity' FROM deliveries WHERE run_id = $1`, run, createdAt)
	return run
}

// The legacy pair goes by the age of its newest run, and its archive takes
// the rows whose run_created_at is -infinity.
func TestPruneLegacy(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.legacyRun(time.Date(2024, time.May, 1, 0, 0, 0, 0, time.UTC), 2)
	newest := time.Date(2024, time.June, 9, 8, 0, 0, 0, time.UTC)
	run := f.legacyRun(newest, 3)
	store := db.NewRetention(f.pool, "test")
	prune := func(now time.Time, dir string) campaign.PruneResult {
		t.Helper()
		m := campaign.NewMaintenance(store, campaigntest.NewClock(now), zerolog.Nop(), campaign.MaintenanceConfig{})
		results, err := m.Prune(f.ctx, campaign.PruneRequest{OlderThan: 30 * 24 * time.Hour, ArchiveDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range results {
			if r.Kind == campaign.PartitionLegacy {
				return r
			}
		}
		t.Fatalf("no legacy partition in %+v", results)
		return campaign.PruneResult{}
	}
	dir := t.TempDir()
	if r := prune(newest.AddDate(0, 0, 29), dir); r.Dropped || !r.NewestRun.Equal(newest) || r.Rows != 5 {
		t.Errorf("29 days after its newest run, legacy: %+v; want kept, newest run %s, 5 rows", r, newest)
	}
	r := prune(newest.AddDate(0, 0, 31), dir)
	if !r.Dropped || r.Archive.Deliveries != 5 || r.Archive.Attempts != 5 {
		t.Fatalf("31 days after its newest run, legacy: %+v; want dropped with 5 deliveries and 5 attempts archived", r)
	}
	man, err := archive.ReadManifest(filepath.Join(dir, "deliveries_legacy"))
	if err != nil || man.RangeFrom != nil || man.Kind != "legacy" {
		t.Errorf("legacy manifest = %+v, %v; want an unbounded range_from", man, err)
	}
	if got := f.str(`SELECT concat_ws(',', total, failed, attempts) FROM campaign_run_summary WHERE run_id = $1`, run); got != "3,3,3" {
		t.Errorf("legacy run's summary after the prune = %s, want 3,3,3", got)
	}
}
