package db_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/broadcaster/broadcaster/campaign"
	"github.com/broadcaster/broadcaster/db"
	"github.com/broadcaster/broadcaster/internal/dbtest"
)

// pruneMonthRows is the size of the month each iteration of
// BenchmarkPruneMonth drops: fixed, so that only the total around it varies.
const pruneMonthRows = 20000

// retentionSizes reads BENCH_RETENTION_DELIVERIES, a comma-separated list of
// table sizes (default 100000: a quick run). The comparison is
// BENCH_RETENTION_DELIVERIES=1000000,10000000, which needs about 7 GB of
// disk and some minutes to fill.
func retentionSizes(b *testing.B) []int {
	b.Helper()
	spec := os.Getenv("BENCH_RETENTION_DELIVERIES")
	if spec == "" {
		spec = "100000"
	}
	var sizes []int
	for _, s := range strings.Split(spec, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			b.Fatalf("BENCH_RETENTION_DELIVERIES: %q is not a positive whole number", s)
		}
		sizes = append(sizes, n)
	}
	return sizes
}

// BenchmarkPruneMonth measures dropping one month of pruneMonthRows
// deliveries (and as many attempts) out of tables that hold N deliveries in
// all, for each N of BENCH_RETENTION_DELIVERIES:
//
//	BENCH_RETENTION_DELIVERIES=1000000,10000000 go test -run '^$' -bench PruneMonth -benchtime 10x ./db
//
// ms/drop staying flat as N grows is the point: a drop's cost depends on
// its own partition only. The fill goes straight into the partitions with
// generate_series and is not timed, nor is settling after it.
func BenchmarkPruneMonth(b *testing.B) {
	for _, n := range retentionSizes(b) {
		b.Run(fmt.Sprintf("deliveries=%d", n), func(b *testing.B) {
			ctx := context.Background()
			// As the daemon and prune connect (db.Open: no JIT, which a
			// large table's cost estimates would otherwise switch on).
			pool, err := db.Open(ctx, dbtest.NewURL(b), 4)
			if err != nil {
				b.Fatal(err)
			}
			defer pool.Close()
			store := db.NewRetention(pool, "bench")
			cid := benchCampaign(b, pool)
			// The bulk: N − one month, over three months of 2024.
			for i, rows := range split(n-pruneMonthRows, 3) {
				fillMonth(b, pool, cid, time.Date(2024, time.Month(1+i), 10, 0, 0, 0, 0, time.UTC), rows)
			}
			settle(b, pool, "deliveries", "delivery_attempts")
			b.ResetTimer()
			for i := range b.N {
				b.StopTimer()
				at := time.Date(2010, time.January, 10, 0, 0, 0, 0, time.UTC).AddDate(0, i, 0)
				fillMonth(b, pool, cid, at, pruneMonthRows)
				part := campaign.Partition{Deliveries: "deliveries_p" + at.Format("2006_01"), Attempts: "delivery_attempts_p" + at.Format("2006_01"),
					Kind: campaign.PartitionMonth, From: at.AddDate(0, 0, -9), To: at.AddDate(0, 1, -9)}
				settle(b, pool, part.Deliveries, part.Attempts)
				b.StartTimer()
				if _, err := store.DropPartition(ctx, part, ""); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/drop")
		})
	}
}

// settle vacuums and analyzes the freshly filled tables, checkpoints and
// has the kernel write out its dirty pages, so that a drop is timed on a
// quiet server: not waiting for autovacuum, which the fill would otherwise
// start on them, nor throttled behind the writeback of the fill (gigabytes
// at 10M, which a test server without fsync leaves to the kernel).
func settle(b *testing.B, pool *pgxpool.Pool, tables ...string) {
	b.Helper()
	for _, sql := range []string{`VACUUM (ANALYZE) ` + strings.Join(tables, ", "), `CHECKPOINT`} {
		if _, err := pool.Exec(context.Background(), sql); err != nil {
			b.Fatal(err)
		}
	}
	syncDisks()
}

// split cuts n into k nearly equal parts.
func split(n, k int) []int {
	parts := make([]int, k)
	for i := range parts {
		parts[i] = n / k
		if i < n%k {
			parts[i]++
		}
	}
	return parts
}

// benchCampaign inserts a completed campaign for the filled runs to belong to.
func benchCampaign(b *testing.B, pool *pgxpool.Pool) int64 {
	b.Helper()
	var id int64
	err := pool.QueryRow(context.Background(), `
		WITH t AS (INSERT INTO applet_templates (name, img_url, content)
		           VALUES ('bench', 'https://cdn.example.com/b.jpg', '<appmsg/>') RETURNING id)
		INSERT INTO campaigns (name, template_id, w_id, recipients, status)
		SELECT 'bench', t.id, 'w', '{}', 'completed' FROM t RETURNING id`).Scan(&id)
	if err != nil {
		b.Fatal(err)
	}
	return id
}

// fillMonth creates at's month partitions and fills them with one completed
// run of rows sent deliveries, one attempt each, inserted straight into the
// partitions.
func fillMonth(b *testing.B, pool *pgxpool.Pool, cid int64, at time.Time, rows int) {
	b.Helper()
	ctx := context.Background()
	suffix := at.Format("2006_01")
	if _, err := pool.Exec(ctx, `SELECT broadcaster_ensure_partitions($1, 0)`, at); err != nil {
		b.Fatal(err)
	}
	var run int64
	if err := pool.QueryRow(ctx, `INSERT INTO campaign_runs (campaign_id, scheduled_for, status, created_at, started_at, finished_at)
		VALUES ($1, $2, 'completed', $2, $2, $2) RETURNING id`, cid, at).Scan(&run); err != nil {
		b.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO deliveries_p`+suffix+` (run_id, campaign_id, wc_id, status, attempts, run_created_at, sent_at, w_id)
		SELECT $1, $2, 'wxid_' || g, 'sent', 1, $3, $3, 'w' FROM generate_series(1, $4::int) g`, run, cid, at, rows); err != nil {
		b.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO delivery_attempts_p`+suffix+` (delivery_id, attempt, w_id, started_at, duration_ms, http_status, code, outcome, response, run_created_at)
		SELECT id, 1, 'w', $2, 120, 200, '1000', 'sent', '{"code":"1000"}', $2 FROM deliveries_p`+suffix+` WHERE run_id = $1`, run, at); err != nil {
		b.Fatal(err)
	}
}
