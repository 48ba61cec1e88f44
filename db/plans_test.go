package db_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/broadcaster/broadcaster/campaign"
	"github.com/broadcaster/broadcaster/db"
)

// wcIDs returns n distinct recipients.
func wcIDs(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s_%d", prefix, i)
	}
	return out
}

// partitionRows is what the planner believes run's partition holds
// (pg_class.reltuples: -1 when never analysed).
func (f *fixture) partitionRows(run int64) float64 {
	f.t.Helper()
	var n float64
	if err := f.pool.QueryRow(f.ctx, `SELECT c.reltuples FROM pg_class c
		WHERE c.oid = (SELECT d.tableoid FROM deliveries d WHERE d.run_id = $1 LIMIT 1)`, run).Scan(&n); err != nil {
		f.t.Fatal(err)
	}
	return n
}

// A large fan-out analyses its partition in its own transaction, so that
// the run's first claims are planned with what it holds; a small one leaves
// the statistics alone (migration 0012).
func TestFanOutAnalysesItsPartition(t *testing.T) {
	f := newFixture(t)
	steps := []struct {
		name       string
		recipients int
		believed   float64 // rows the planner believes the partition holds after
	}{
		{"a fan-out of 3,000 onto an empty month: analysed", 3000, 3000},
		{"200 onto 3,000: left alone", 200, 3000},
		{"1,000 onto 3,200: analysed", 1000, 4200},
		{"300 onto 4,200, under a tenth: left alone", 300, 4200},
	}
	for i, st := range steps {
		run := f.run(f.campaign(wcIDs(fmt.Sprint("r", i), st.recipients)))
		if got := f.partitionRows(run.ID); got != st.believed {
			t.Errorf("%s: the planner believes the partition holds %v rows, want %v", st.name, got, st.believed)
		}
	}
}

// The fan-out skips the round trip exactly where broadcaster_analyze_run
// would decline without looking: the floor lives in Go and in SQL, and must
// be the same in both.
func TestAnalyzeFloorsAgree(t *testing.T) {
	f := newFixture(t)
	run := f.run(f.campaign(wcIDs("r", 5))) // a month never analysed
	var below, at bool
	if err := f.pool.QueryRow(f.ctx, `SELECT broadcaster_analyze_run($1, $2), broadcaster_analyze_run($1, $3)`,
		run.ID, db.AnalyzeMinRows-1, db.AnalyzeMinRows).Scan(&below, &at); err != nil {
		t.Fatal(err)
	}
	if below || !at {
		t.Errorf("broadcaster_analyze_run at %d rows = %v, at %d = %v; want false, then true (the Go floor is %d)",
			db.AnalyzeMinRows-1, below, db.AnalyzeMinRows, at, db.AnalyzeMinRows)
	}
}

// The claim of a fresh run reads about what it claims, not every pending
// delivery of the run. Before 0012 it was planned on the statistics of the
// month before the fan-out (empty) as a sort of all of them, twice, and a
// hash join that read the whole month once more.
func TestClaimOfAFreshRunReadsWhatItClaims(t *testing.T) {
	f := newFixture(t)
	const n, limit = 5000, 64
	// The month as autovacuum last saw it: new, empty.
	f.exec(`VACUUM ANALYZE deliveries`)
	f.run(f.campaign(wcIDs("r", n)))
	sql, args := f.store.ClaimStatement(campaign.ClaimParams{Limit: limit, Lease: time.Minute})
	f.exec(`INSERT INTO sending_accounts (w_id, tokens, refilled_at) VALUES ('w1', 1, now())`)
	tx, err := f.pool.Begin(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(f.ctx)
	var plan []struct {
		Plan planNode `json:"Plan"`
	}
	if err := tx.QueryRow(f.ctx, "EXPLAIN (ANALYZE, FORMAT JSON) "+sql, args).Scan(&plan); err != nil {
		t.Fatal(err)
	}
	if len(plan) != 1 {
		t.Fatalf("EXPLAIN returned %d plans", len(plan))
	}
	read := plan[0].Plan.rowsFrom("deliveries")
	if claimed := plan[0].Plan.ActualRows; claimed != limit {
		t.Fatalf("the claim returned %v rows, want %d", claimed, limit)
	}
	if read > 4*limit {
		t.Errorf("the claim of %d from a fresh run of %d read %v deliveries, want at most %d; its plan:\n%s",
			limit, n, read, 4*limit, explain(t, tx, sql, args))
	}
}

// explain is the text plan of sql, run.
func explain(t *testing.T, tx pgx.Tx, sql string, args pgx.NamedArgs) string {
	t.Helper()
	rows, err := tx.Query(context.Background(), "EXPLAIN (ANALYZE) "+sql, args)
	if err != nil {
		return err.Error()
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err.Error()
	}
	return strings.Join(lines, "\n")
}

// planNode is a node of EXPLAIN (FORMAT JSON).
type planNode struct {
	NodeType     string     `json:"Node Type"`
	RelationName string     `json:"Relation Name"`
	ActualRows   float64    `json:"Actual Rows"`
	ActualLoops  float64    `json:"Actual Loops"`
	Plans        []planNode `json:"Plans"`
}

// rowsFrom sums the rows that the scans of tables named prefix* returned.
func (p planNode) rowsFrom(prefix string) float64 {
	var n float64
	if strings.HasPrefix(p.RelationName, prefix) && strings.Contains(p.NodeType, "Scan") {
		n += p.ActualRows * p.ActualLoops
	}
	for _, c := range p.Plans {
		n += c.rowsFrom(prefix)
	}
	return n
}

// A run whose deliveries are in the legacy partition (made before 0008: its
// rows carry '-infinity', not the run's created_at) is complete only when
// none is left to send, like any other.
func TestLegacyRunCompletesOnlyWhenDone(t *testing.T) {
	f := newFixture(t)
	run := f.run(f.campaign([]string{"a", "b"}))
	f.exec(`UPDATE deliveries SET run_created_at = '-infinity' WHERE run_id = $1`, run.ID)
	if n := f.int64(`SELECT count(*) FROM deliveries_legacy WHERE run_id = $1`, run.ID); n != 2 {
		t.Fatalf("%d deliveries in the legacy partition, want 2", n)
	}
	reap := func() {
		t.Helper()
		if _, err := f.store.Reap(f.ctx, campaign.ReapParams{MaxAttempts: 1, Delay: time.Second}); err != nil {
			t.Fatal(err)
		}
	}
	reap()
	if s := f.str(`SELECT status FROM campaign_runs WHERE id = $1`, run.ID); s != "pending" {
		t.Fatalf("legacy run with pending deliveries is %s after a completion sweep, want pending", s)
	}
	f.exec(`UPDATE deliveries SET status = 'sending', attempts = 1 WHERE run_id = $1 AND wc_id = 'a'`, run.ID)
	f.exec(`UPDATE deliveries SET status = 'skipped' WHERE run_id = $1 AND wc_id = 'b'`, run.ID)
	reap()
	if s := f.str(`SELECT status FROM campaign_runs WHERE id = $1`, run.ID); s != "pending" {
		t.Fatalf("legacy run with a delivery sending is %s, want pending", s)
	}
	f.exec(`UPDATE deliveries SET status = 'sent' WHERE run_id = $1 AND wc_id = 'a'`, run.ID)
	reap()
	if s := f.str(`SELECT status FROM campaign_runs WHERE id = $1`, run.ID); s != "completed" {
		t.Errorf("legacy run with nothing left is %s, want completed", s)
	}
}

// A claim locks only the accounts it serves: idle accounts (nothing due),
// which sort first because nobody serves them, are read but not locked, so
// other instances never have to skip them.
func TestClaimLocksOnlyTheAccountsItServes(t *testing.T) {
	f := newFixture(t)
	f.run(f.campaign([]string{"a", "b"}))
	f.exec(`INSERT INTO sending_accounts (w_id, tokens, refilled_at)
		SELECT 'idle-' || g, 1, now() - interval '1 hour' FROM generate_series(1, 20) g`)
	f.exec(`INSERT INTO sending_accounts (w_id, tokens, refilled_at) VALUES ('w1', 1, now())`)
	sql, args := f.store.ClaimStatement(campaign.ClaimParams{Limit: 1, Lease: time.Minute})
	tx, err := f.pool.Begin(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(f.ctx)
	rows, err := tx.Query(f.ctx, sql, args)
	if err != nil {
		t.Fatal(err)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	// Another connection sees which accounts the open claim holds.
	free := f.int64(`SELECT count(*) FROM (SELECT 1 FROM sending_accounts FOR UPDATE SKIP LOCKED) x`)
	if free != 20 {
		t.Errorf("%d of 21 accounts left unlocked by a claim of one delivery, want 20 (only w1 locked)", free)
	}
}

// A fan-out does not wait for another analysis of its month (another
// fan-out's, autovacuum's): it leaves the statistics to that one.
func TestFanOutDoesNotWaitForAnotherAnalysis(t *testing.T) {
	f := newFixture(t)
	month := f.str(`SELECT deliveries_partition FROM broadcaster_partitions WHERE range_from <= now() AND now() < range_to`)
	other, err := f.pool.Begin(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Rollback(f.ctx)
	if _, err := other.Exec(f.ctx, `LOCK TABLE `+month+` IN SHARE UPDATE EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	run := f.run(f.campaign(wcIDs("big", 3000)))
	if run.Total != 3000 {
		t.Fatalf("run of %d deliveries, want 3000", run.Total)
	}
	if got := f.partitionRows(run.ID); got == 3000 {
		t.Errorf("the fan-out analysed %s while another analysis held it", month)
	}
}
