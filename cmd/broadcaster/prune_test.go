package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/broadcaster/broadcaster/internal/archive"
	"github.com/broadcaster/broadcaster/internal/dbtest"
	"github.com/broadcaster/broadcaster/sender/sendertest"
)

// oldRun inserts, as the daemon would have months ago, a run of a new
// campaign created at createdAt with n deliveries (sent but for one failed,
// one attempt each) in that month's partition, created with
// broadcaster_ensure_partitions at that time. It returns the campaign's id.
func oldRun(t *testing.T, conn *pgx.Conn, name string, createdAt time.Time, status string, n int) int64 {
	t.Helper()
	ctx := context.Background()
	if _, err := conn.Exec(ctx, `SELECT broadcaster_ensure_partitions($1, 0)`, createdAt); err != nil {
		t.Fatal(err)
	}
	cid := insertCampaign(t, conn, name, n)
	_, err := conn.Exec(ctx, `
		WITH c AS (UPDATE campaigns SET status = 'completed' WHERE id = $1 RETURNING id),
		     r AS (INSERT INTO campaign_runs (campaign_id, scheduled_for, status, created_at, started_at, finished_at)
		           SELECT id, $2, $3, $2, $2, CASE WHEN $3 = 'completed' THEN $2::timestamptz END FROM c RETURNING id),
		     d AS (INSERT INTO deliveries (run_id, campaign_id, wc_id, status, attempts, run_created_at, sent_at)
		           SELECT r.id, $1, 'wxid_' || g, CASE WHEN g = 1 THEN 'failed' ELSE 'sent' END, 1, $2, $2
		           FROM r, generate_series(1, $4::int) g RETURNING id, status)
		INSERT INTO delivery_attempts (delivery_id, attempt, started_at, outcome, code, run_created_at)
		SELECT id, 1, $2, status, CASE status WHEN 'sent' THEN '1000' ELSE '1002' END, $2 FROM d`,
		cid, createdAt, status, n)
	if err != nil {
		t.Fatal(err)
	}
	return cid
}

func TestPruneEndToEnd(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := map[string]string{"DATABASE_URL": dbtest.NewURL(t)}
	if r := broadcaster(t, env, "migrate"); r.code != 0 {
		t.Fatalf("migrate: %s", r)
	}
	conn, err := pgx.Connect(ctx, env["DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	old := oldRun(t, conn, "january", time.Date(2025, time.January, 20, 2, 0, 0, 0, time.UTC), "completed", 4)
	oldRun(t, conn, "february", time.Date(2025, time.February, 20, 2, 0, 0, 0, time.UTC), "running", 2)
	report := func() string {
		t.Helper()
		r := broadcaster(t, env, "report", "--campaign", strconv.FormatInt(old, 10), "--format", "csv")
		if r.code != 0 {
			t.Fatalf("report: %s", r)
		}
		return r.stdout
	}
	before := report()
	if !strings.Contains(before, ",completed,4,3,1,0,0,0,4,0.75,") {
		t.Fatalf("report before the prune lacks the run's figures:\n%s", before)
	}
	exists := func(name string) bool {
		t.Helper()
		return count(t, conn, `SELECT count(*) FROM broadcaster_partitions WHERE deliveries_partition = $1`, name) == 1
	}

	dir := t.TempDir()
	r := broadcaster(t, env, "prune", "--older-than", "90d", "--archive", dir, "--dry-run")
	if r.code != 0 {
		t.Fatalf("prune --dry-run: %s", r)
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^PARTITION +FROM +TO +ROWS +OPEN RUNS +ACTION +WHY$`),
		regexp.MustCompile(`(?m)^deliveries_p2025_01 +2025-01-01 +2025-02-01 +4 +0 +would drop +range ends before `),
		regexp.MustCompile(`(?m)^deliveries_p2025_02 +2025-02-01 +2025-03-01 +2 +1 +keep +1 open run$`),
		regexp.MustCompile(`(?m)^deliveries_legacy +-infinity +2000-01-01 +0 +0 +keep +legacy partition is empty$`),
		regexp.MustCompile(`(?m)^deliveries_default +-infinity +\+infinity +(\?|0) +0 +keep +default partition: never pruned$`),
		regexp.MustCompile(`(?m)^dry run: nothing was changed$`),
	} {
		if !want.MatchString(r.stdout) {
			t.Errorf("prune --dry-run output does not match %s:\n%s", want, r.stdout)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 || !exists("deliveries_p2025_01") {
		t.Fatalf("the dry run changed something: archive %v, January there: %v", entries, exists("deliveries_p2025_01"))
	}

	r = broadcaster(t, env, "prune", "--older-than", "90d", "--archive", dir)
	if r.code != 0 {
		t.Fatalf("prune --archive: %s", r)
	}
	pairDir := filepath.Join(dir, "deliveries_p2025_01")
	if !regexp.MustCompile(`(?m)^deliveries_p2025_01 .* dropped +range ends before`).MatchString(r.stdout) ||
		!strings.Contains(r.stdout, "archived deliveries_p2025_01: 4 deliveries, 4 attempts in "+pairDir) {
		t.Errorf("prune --archive output:\n%s", r.stdout)
	}
	if exists("deliveries_p2025_01") || !exists("deliveries_p2025_02") {
		t.Errorf("after the prune: January there %v (want gone), February there %v (want kept: open run)",
			exists("deliveries_p2025_01"), exists("deliveries_p2025_02"))
	}
	man, err := archive.ReadManifest(pairDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(man.Files) != 2 || man.Files[0].Rows != 4 || man.Files[1].Rows != 4 || man.Partition != "deliveries_p2025_01" {
		t.Errorf("manifest = %+v; want 4 deliveries and 4 attempts of deliveries_p2025_01", man)
	}
	if after := report(); after != before {
		t.Errorf("report changed by the prune:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	restoreFromREADME(t, env["DATABASE_URL"], dir, "deliveries_p2025_01", man)

	// Nothing more to drop: a second prune succeeds and changes nothing.
	if r := broadcaster(t, env, "prune", "--older-than", "90d"); r.code != 0 || strings.Contains(r.stdout, "dropped") {
		t.Errorf("second prune: %s", r)
	}
}

// restoreFromREADME runs the README's psql example, pointed at the archive
// of partition in dir, and checks it loads every archived row.
func restoreFromREADME(t *testing.T, dbURL, dir, partition string, man archive.Manifest) {
	t.Helper()
	block := readmeBlock(t, "Retention", "psql")
	script := strings.NewReplacer("/var/lib/broadcaster/archive", dir, "deliveries_p2026_01", partition).Replace(block)
	psql, err := exec.LookPath("psql")
	if err != nil {
		t.Fatalf("psql is needed to test the README's restore (the postgresql package has it): %v", err)
	}
	cmd := exec.Command(psql, "-X", "-v", "ON_ERROR_STOP=1", "-d", dbURL)
	cmd.Stdin = strings.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the README's restore failed: %v\n%s\nscript:\n%s", err, out, script)
	}
	conn, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if n := count(t, conn, `SELECT count(*) FROM restored_deliveries`); int64(n) != man.Files[0].Rows {
		t.Errorf("restored %d deliveries, the manifest says %d", n, man.Files[0].Rows)
	}
	if n := count(t, conn, `SELECT count(*) FROM restored_attempts`); int64(n) != man.Files[1].Rows {
		t.Errorf("restored %d attempts, the manifest says %d", n, man.Files[1].Rows)
	}
	if n := count(t, conn, `SELECT count(*) FROM restored_deliveries d JOIN restored_attempts a ON a.delivery_id = d.id
		WHERE d.status = 'sent' AND a.code = '1000' AND d.run_created_at = '2025-01-20T02:00:00Z'`); n != 3 {
		t.Errorf("restored %d sent deliveries with their attempts, want 3", n)
	}
}

func TestPruneUsage(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"prune"},
		{"prune", "--older-than", "90 days"},
		{"prune", "--older-than", "90m"},
		{"prune", "--older-than", "90d", "extra"},
	} {
		r := broadcaster(t, map[string]string{"DATABASE_URL": "postgres://127.0.0.1:1/none"}, args...)
		if r.code != exitUsage {
			t.Errorf("%v: %s; want exit 2", args, r)
		}
	}
}

// The daemon creates partitions ahead at start and, with
// retention.prune_after, prunes (archiving into retention.archive_dir).
func TestDaemonMaintainsPartitions(t *testing.T) {
	t.Parallel()
	env, _, conn := daemonEnv(t, sendertest.Config{})
	oldRun(t, conn, "march", time.Date(2025, time.March, 3, 0, 0, 0, 0, time.UTC), "completed", 2)
	ctx := context.Background()
	if _, err := conn.Exec(ctx, `DROP TABLE delivery_attempts_p`+nextMonth()+`, deliveries_p`+nextMonth()); err != nil {
		t.Fatal(err) // so that the daemon has one to create ahead
	}
	dir := t.TempDir()
	env["BROADCASTER_RETENTION_PRUNE_AFTER"] = "90d"
	env["BROADCASTER_RETENTION_ARCHIVE_DIR"] = dir
	d := startDaemon(t, env)
	created := d.waitLog(t, "partitions created ahead")
	if created["created"] != float64(1) {
		t.Errorf("created ahead: %v", created)
	}
	pruned := d.waitLog(t, "partition pruned")
	if pruned["partition"] != "deliveries_p2025_03" || pruned["deliveries"] != float64(2) {
		t.Errorf("pruned: %v", pruned)
	}
	if code := d.stop(t); code != 0 {
		t.Errorf("daemon exit %d", code)
	}
	if _, err := archive.ReadManifest(filepath.Join(dir, "deliveries_p2025_03")); err != nil {
		t.Errorf("no archive manifest: %v", err)
	}
	if n := count(t, conn, `SELECT count(*) FROM broadcaster_partitions WHERE deliveries_partition = 'deliveries_p`+nextMonth()+`'`); n != 1 {
		t.Errorf("next month's partition not created ahead")
	}
}

// nextMonth is the suffix of next month's partition, as the database names it.
func nextMonth() string {
	return time.Now().UTC().AddDate(0, 1, 1-time.Now().UTC().Day()).Format("2006_01")
}
