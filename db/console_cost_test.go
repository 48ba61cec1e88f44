package db

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/broadcaster/broadcaster/internal/dbtest"
)

// consoleCostEnv runs TestConsoleQueryCost (make console-cost): it fills a
// database with the value's number of deliveries (1000000 by default when
// set to 1) and prints EXPLAIN (ANALYZE, BUFFERS) figures of every console
// query. Minutes of filling: not part of make test.
const consoleCostEnv = "CONSOLE_COST"

// TestConsoleQueryCost shows that each console page's queries stay bounded
// on a large database (issue 12: under 50 ms on 1,000,000 deliveries). It
// reports each query's execution time and buffers; it asserts no time (the
// machine decides that), only that every query ran and none read the
// deliveries table whole.
func TestConsoleQueryCost(t *testing.T) {
	n := os.Getenv(consoleCostEnv)
	if n == "" {
		t.Skip("set " + consoleCostEnv + "=1 (or a number of deliveries) to measure; see make console-cost")
	}
	total, err := strconv.Atoi(n)
	if err != nil || total < 1 {
		t.Fatalf("%s=%q: want 1 or a number of deliveries", consoleCostEnv, n)
	}
	if total == 1 {
		total = 1_000_000
	}
	ctx := context.Background()
	url := dbtest.NewURL(t)
	pool, err := Open(ctx, url, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	started := time.Now()
	ids := fillConsoleCost(t, ctx, pool.Exec, pool.QueryRow, total)
	t.Logf("filled %d deliveries and as many attempts in %s", total, time.Since(started).Round(time.Second))
	fmt.Println("| query | first run | again (cached) | buffers hit / read (first) |")
	fmt.Println("|---|---|---|---|")
	for _, q := range consoleCostQueries(ids) {
		first := explain(t, ctx, pool, q)
		again := explain(t, ctx, pool, q)
		hit, read := buffers(first)
		fmt.Printf("| %s | %s ms | %s ms | %s / %s |\n", q.name, executionMS(t, first), executionMS(t, again), hit, read)
		if m := wholeScan.FindStringSubmatch(first); m != nil {
			t.Errorf("%s reads deliveries whole (%s rows filtered out):\n%s", q.name, m[1], first)
		}
		if os.Getenv("CONSOLE_COST_PLANS") != "" {
			fmt.Println(first)
		}
	}
}

// executionMS reads a plan's execution time.
func executionMS(t *testing.T, plan string) string {
	t.Helper()
	m := regexp.MustCompile(`Execution Time: ([0-9.]+) ms`).FindStringSubmatch(plan)
	if m == nil {
		t.Fatalf("no execution time in plan:\n%s", plan)
	}
	return m[1]
}

// buffers reads the top node's shared buffers hit and read.
func buffers(plan string) (hit, read string) {
	m := regexp.MustCompile(`Buffers: shared hit=(\d+)(?: read=(\d+))?`).FindStringSubmatch(plan)
	if m == nil {
		return "0", "0"
	}
	if m[2] == "" {
		m[2] = "0"
	}
	return m[1], m[2]
}

// costIDs are rows of the filled database the queries look at.
type costIDs struct {
	bigRun, runningRun, campaign int64
	lastRuns                     []int64
	deliveries                   []int64
	wcID                         string
}

// fillConsoleCost inserts ten campaigns on five accounts, each with runs of
// 10,000 deliveries (one attempt each) to a pool of 200,000 recipients, a
// fiftieth failed, a ninety-seventh unknown, and one run still sending.
func fillConsoleCost(t *testing.T, ctx context.Context,
	exec func(context.Context, string, ...any) (pgconn.CommandTag, error),
	queryRow func(context.Context, string, ...any) pgx.Row, total int) costIDs {
	t.Helper()
	runs := max(total/10_000, 1)
	stmts := []string{
		`INSERT INTO applet_templates (name, img_url, content) VALUES ('cost', 'https://cdn.example.com/a.jpg', '<appmsg><title>t</title></appmsg>')`,
		`INSERT INTO campaigns (name, template_id, w_id, recipients, status)
		 SELECT 'cost ' || g, 1, 'wid-' || (g % 5), ARRAY['wxid_1', 'wxid_2'], 'completed' FROM generate_series(1, 10) g`,
		fmt.Sprintf(`INSERT INTO campaign_runs (campaign_id, scheduled_for, status, started_at, finished_at)
		 SELECT 1 + g %% 10, now() - (%d - g) * interval '1 hour', 'completed', now() - (%d - g) * interval '1 hour',
		        now() - (%d - g) * interval '1 hour' + interval '20 minutes'
		 FROM generate_series(1, %d) g`, runs, runs, runs, runs),
		`UPDATE campaign_runs SET status = 'running', finished_at = NULL WHERE id = (SELECT max(id) FROM campaign_runs)`,
		`INSERT INTO deliveries (run_id, run_created_at, campaign_id, wc_id, status, attempts, last_code, last_error, sent_at, w_id, updated_at, new_msg_id)
		 SELECT r.id, r.created_at, r.campaign_id, 'wxid_' || ((g * 7919 + r.id * 104729) % 200000),
		        CASE WHEN r.status = 'running' AND g > 5000 THEN 'pending'
		             WHEN g % 50 = 0 THEN 'failed' WHEN g % 97 = 0 THEN 'unknown' ELSE 'sent' END,
		        CASE WHEN r.status = 'running' AND g > 5000 THEN 0 ELSE 1 END,
		        CASE WHEN g % 50 = 0 THEN '1002' WHEN g % 97 = 0 THEN NULL ELSE '1000' END,
		        CASE WHEN g % 50 = 0 THEN 'code 1002: refused' WHEN g % 97 = 0 THEN 'timeout after the request was written' END,
		        CASE WHEN g % 50 <> 0 AND g % 97 <> 0 AND NOT (r.status = 'running' AND g > 5000)
		             THEN r.started_at + g * interval '100 milliseconds' END,
		        'wid-' || (r.campaign_id % 5), r.started_at + g * interval '100 milliseconds', 7000000000000000000 + g
		 FROM campaign_runs r, generate_series(1, 10000) g
		 ORDER BY r.id, g`, // one run's rows together, as run creation writes them
		`INSERT INTO delivery_attempts (delivery_id, run_created_at, attempt, w_id, started_at, duration_ms, http_status, code, outcome, response)
		 SELECT id, run_created_at, 1, w_id, updated_at, 120, 200, coalesce(last_code, ''), status, '{"code":"' || coalesce(last_code, '') || '"}'
		 FROM deliveries WHERE attempts > 0 ORDER BY id`,
		// The totals a run stores when it closes (refresh_run_totals.sql).
		`UPDATE campaign_runs r
		 SET (total, sent, failed, unknown, pending, skipped, attempts) = (
		     SELECT count(*), count(*) FILTER (WHERE d.status = 'sent'), count(*) FILTER (WHERE d.status = 'failed'),
		            count(*) FILTER (WHERE d.status = 'unknown'), count(*) FILTER (WHERE d.status IN ('pending', 'sending')),
		            count(*) FILTER (WHERE d.status = 'skipped'), coalesce(sum(d.attempts), 0)
		     FROM deliveries d WHERE d.run_id = r.id)
		 WHERE r.status IN ('completed', 'cancelled')`,
		`INSERT INTO sending_accounts (w_id) SELECT 'wid-' || g FROM generate_series(0, 4) g`,
		`VACUUM ANALYZE`, // as autovacuum leaves a table between nights: visibility map set
	}
	for _, s := range stmts {
		if _, err := exec(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	var ids costIDs
	if err := queryRow(ctx, `SELECT min(id), max(id), 1 FROM campaign_runs`).Scan(&ids.bigRun, &ids.runningRun, &ids.campaign); err != nil {
		t.Fatal(err)
	}
	for i := range int64(50) {
		ids.lastRuns = append(ids.lastRuns, ids.runningRun-i)
	}
	if err := queryRow(ctx, `SELECT wc_id FROM deliveries WHERE run_id = $1 AND status = 'failed' LIMIT 1`, ids.bigRun).Scan(&ids.wcID); err != nil {
		t.Fatal(err)
	}
	if err := queryRow(ctx, `SELECT array_agg(id) FROM deliveries WHERE wc_id = $1`, ids.wcID).Scan(&ids.deliveries); err != nil {
		t.Fatal(err)
	}
	return ids
}

// wholeScan finds a sequential scan of deliveries (or a partition of it)
// that threw away more than a run's worth of rows.
var wholeScan = regexp.MustCompile(`Seq Scan on deliveries\w*[^\n]*\n(?:[^\n]*\n)*?\s*Rows Removed by Filter: (\d{5,})`)

// costQuery is one console query with the arguments a page gives it.
type costQuery struct {
	name string
	sql  string
	args pgx.NamedArgs
}

func consoleCostQueries(ids costIDs) []costQuery {
	now := time.Now()
	return []costQuery{
		{"now: live runs", consoleLiveRunsSQL, pgx.NamedArgs{"limit": maxLiveRuns}},
		{"now: their figures", runSummariesSQL, pgx.NamedArgs{"runs": []int64{ids.runningRun}}},
		{"now: recent sends", consoleRecentSendsSQL, pgx.NamedArgs{"runs": []int64{ids.runningRun}, "now": now}},
		{"now/accounts: accounts", consoleAccountsSQL, pgx.NamedArgs{"rate": 0.5, "breaker_failures": 20, "cool_down_ms": 300000,
			"since": now.Truncate(24 * time.Hour), "limit": maxAccounts}},
		{"now: outage", consoleOutageSQL, nil},
		{"runs: page", consoleRunsSQL, pgx.NamedArgs{"before": 0, "campaign": 0, "status": "", "limit": 50}},
		{"runs: filtered page", consoleRunsSQL, pgx.NamedArgs{"before": ids.runningRun - 20, "campaign": ids.campaign, "status": "completed", "limit": 50}},
		{"runs: 50 runs' figures", runSummariesSQL, pgx.NamedArgs{"runs": ids.lastRuns}},
		{"run: figures", runSummariesSQL, pgx.NamedArgs{"runs": []int64{ids.bigRun}}},
		{"run: deliveries", consoleDeliveriesSQL, pgx.NamedArgs{"run": ids.bigRun, "after": 0, "status": "", "code": "", "wc_id": "", "limit": 50}},
		{"run: failed deliveries", consoleDeliveriesSQL, pgx.NamedArgs{"run": ids.bigRun, "after": 0, "status": "failed", "code": "1002", "wc_id": "", "limit": 50}},
		{"run: one wcId", consoleDeliveriesSQL, pgx.NamedArgs{"run": ids.bigRun, "after": 0, "status": "", "code": "", "wc_id": ids.wcID, "limit": 50}},
		{"run: failures grouped", consoleFailuresSQL, pgx.NamedArgs{"run": ids.bigRun, "limit": maxFailureGroups}},
		{"run: sends per second", consoleRunRateSQL, pgx.NamedArgs{"run": ids.bigRun, "limit": maxRateSeconds, "deliveries": maxRateDeliveries}},
		{"recipient: deliveries", consoleRecipientSQL, pgx.NamedArgs{"wc_id": ids.wcID, "limit": 100}},
		{"recipient: attempts", consoleAttemptsSQL, pgx.NamedArgs{"deliveries": ids.deliveries, "limit": maxAttempts}},
		{"campaigns: page", consoleCampaignsSQL, pgx.NamedArgs{"before": 0, "id": 0, "limit": 50}},
		{"campaign: row", consoleCampaignsSQL, pgx.NamedArgs{"before": 0, "id": ids.campaign, "limit": 1}},
		{"campaign: audience", consoleAudienceSQL, pgx.NamedArgs{"id": ids.campaign}},
		{"campaign: check findings", checkAudienceSQL, nil},
	}
}

// explain returns the EXPLAIN (ANALYZE, BUFFERS) text of q, in a
// transaction of its own as the store runs it.
func explain(t *testing.T, ctx context.Context, pool *pgxpool.Pool, q costQuery) string {
	t.Helper()
	var qargs []any
	if q.args != nil {
		qargs = append(qargs, q.args)
	}
	var lines []string
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, "EXPLAIN (ANALYZE, BUFFERS) "+q.sql, qargs...)
		if err != nil {
			return err
		}
		lines, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil {
		t.Fatalf("explain %s: %v", q.name, err)
	}
	return strings.Join(lines, "\n")
}
