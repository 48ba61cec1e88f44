package db_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/broadcaster/broadcaster/campaign"
	"github.com/broadcaster/broadcaster/db"
	"github.com/broadcaster/broadcaster/internal/dbtest"
)

// BenchmarkCreateRun100k measures fanning one run out to 100,000 recipients
// (a list of 100,000 members plus 1,000 inline, 1,000 of them suppressed).
func BenchmarkCreateRun100k(b *testing.B) {
	ctx := context.Background()
	pool := dbtest.New(b)
	store := db.NewStore(pool, "bench")
	var tmpl, list int64
	if err := pool.QueryRow(ctx, `INSERT INTO applet_templates (name, img_url, content)
		VALUES ('b', 'https://a/b.jpg', '<appmsg/>') RETURNING id`).Scan(&tmpl); err != nil {
		b.Fatal(err)
	}
	if err := pool.QueryRow(ctx, `INSERT INTO recipient_lists (name) VALUES ('big') RETURNING id`).Scan(&list); err != nil {
		b.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO recipient_list_members (list_id, wc_id)
		SELECT $1, 'wxid_' || g FROM generate_series(1, 100000) g`, list); err != nil {
		b.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO suppressions (wc_id) SELECT 'wxid_' || g FROM generate_series(1, 1000) g`); err != nil {
		b.Fatal(err)
	}
	inline := make([]string, 1000)
	for i := range inline {
		inline[i] = "wxid_inline_" + itoa(int64(i))
	}
	var id int64
	if err := pool.QueryRow(ctx, `INSERT INTO campaigns (name, template_id, w_id, recipients, list_ids, status)
		VALUES ('big', $1, 'w', $2, ARRAY[$3::bigint], 'paused') RETURNING id`, tmpl, inline, list).Scan(&id); err != nil {
		b.Fatal(err)
	}
	at := time.Now()
	b.ResetTimer()
	for i := range b.N {
		run, err := store.CreateRun(ctx, id, at.Add(time.Duration(i)*time.Second))
		if err != nil {
			b.Fatal(err)
		}
		if run.Total != 101000 || run.Skipped != 1000 {
			b.Fatalf("run = %+v", run)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/run")
}

// BenchmarkClaimRecord measures the hot path of sending without the API:
// claim 64 due deliveries, then record them sent, with 100,000 deliveries
// of an earlier run stored beside them. past_months=12 adds a year of
// monthly partitions (empty) before the current month's, so that claims
// and records slowing as partitions accumulate would show. It reports
// microseconds per delivery (claim and record together).
func BenchmarkClaimRecord(b *testing.B) {
	for _, months := range []int{0, 12} {
		b.Run("past_months="+itoa(int64(months)), func(b *testing.B) { benchClaimRecord(b, months) })
	}
}

func benchClaimRecord(b *testing.B, pastMonths int) {
	ctx := context.Background()
	pool := dbtest.New(b)
	store := db.NewStore(pool, "bench")
	if pastMonths > 0 {
		if _, err := pool.Exec(ctx, `SELECT broadcaster_ensure_partitions(now() - make_interval(months => $1), $1)`, pastMonths); err != nil {
			b.Fatal(err)
		}
	}
	var tmpl int64
	if err := pool.QueryRow(ctx, `INSERT INTO applet_templates (name, img_url, content)
		VALUES ('b', 'https://a/b.jpg', '<appmsg/>') RETURNING id`).Scan(&tmpl); err != nil {
		b.Fatal(err)
	}
	campaignOf := func(name string, n int) int64 {
		var id int64
		if err := pool.QueryRow(ctx, `INSERT INTO campaigns (name, template_id, w_id, recipients)
			SELECT $1, $2, 'w', array_agg($1 || g) FROM generate_series(1, $3) g RETURNING id`, name, tmpl, n).Scan(&id); err != nil {
			b.Fatal(err)
		}
		if _, err := store.CreateRun(ctx, id, time.Now()); err != nil {
			b.Fatal(err)
		}
		return id
	}
	old := campaignOf("old_", 100000)
	if _, err := pool.Exec(ctx, `UPDATE deliveries SET status = 'sent', attempts = 1 WHERE campaign_id = $1`, old); err != nil {
		b.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `UPDATE campaigns SET status = 'completed' WHERE id = $1`, old); err != nil {
		b.Fatal(err)
	}
	const batch = 64
	campaignOf("new_", b.N*batch)
	if _, err := pool.Exec(ctx, `ANALYZE`); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		ds, err := store.Claim(ctx, campaign.ClaimParams{EnsureAccounts: true, Limit: batch, Lease: time.Minute})
		if err != nil || len(ds) != batch {
			b.Fatalf("claimed %d, %v; want %d", len(ds), err, batch)
		}
		rs := make([]campaign.Result, len(ds))
		for i, d := range ds {
			rs[i] = campaign.Result{Delivery: d, Status: campaign.DeliverySent, Attempt: campaign.Attempt{
				Outcome: campaign.OutcomeSent, StartedAt: time.Now(), Code: "1000",
				Receipt: &campaign.Receipt{MsgID: 1, NewMsgID: 2}}}
		}
		if _, err := store.Record(ctx, rs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*batch), "µs/delivery")
}

// BenchmarkFanOutFloor times the fan-out of one run of 100,000 list
// recipients (insert_deliveries.sql) against less and less of what the
// deliveries table carries, to show what each part costs and where the
// floor is: "claimable" keeps only what claims need (the keys and the
// pending index, no foreign key); "heap_only" keeps no index and no foreign
// key, what any schema with a row per recipient pays at least. Each variant
// drops its indexes and constraints inside the transaction that fans out,
// and rolls it all back. It reports microseconds per recipient
// (docs/capacity.md, "Where the design hits a wall"):
//
//	go test -run '^$' -bench FanOutFloor -benchtime 5x ./db
func BenchmarkFanOutFloor(b *testing.B) {
	const n = 100000
	const withoutFK = `ALTER TABLE deliveries DROP CONSTRAINT deliveries_run_id_fkey`
	// What claims cannot do without: the keys and the pending index.
	const claimable = withoutFK + `;
		DROP INDEX deliveries_sending_idx, deliveries_open_run_idx, deliveries_wc_id_idx, deliveries_w_id_sent_idx`
	const keysOnly = claimable + `;
		DROP INDEX deliveries_pending_idx`
	// The primary and unique keys are each partition's own (migration 0008).
	const heapOnly = keysOnly + `;
		DO $$
		DECLARE c record;
		BEGIN
		    FOR c IN SELECT conrelid::regclass AS rel, conname FROM pg_constraint
		             WHERE contype IN ('p', 'u')
		               AND conrelid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = 'deliveries'::regclass)
		    LOOP
		        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', c.rel, c.conname);
		    END LOOP;
		END
		$$`
	ctx := context.Background()
	pool := dbtest.New(b)
	var campaignID int64
	if err := pool.QueryRow(ctx, `
		WITH t AS (INSERT INTO applet_templates (name, img_url, content)
		           VALUES ('b', 'https://a/b.jpg', '<appmsg/>') RETURNING id),
		     l AS (INSERT INTO recipient_lists (name) VALUES ('big') RETURNING id),
		     m AS (INSERT INTO recipient_list_members (list_id, wc_id)
		           SELECT l.id, 'wxid_' || lpad(g::text, 8, '0') FROM l, generate_series(1, $1::int) g)
		INSERT INTO campaigns (name, template_id, w_id, list_ids, status)
		SELECT 'big', t.id, 'w', ARRAY[l.id], 'paused' FROM t, l RETURNING id`, n).Scan(&campaignID); err != nil {
		b.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `ANALYZE`); err != nil {
		b.Fatal(err)
	}
	for _, v := range []struct{ name, ddl string }{
		{"schema", ""},
		{"without_fk", withoutFK},
		{"claimable", claimable},
		{"keys_only", keysOnly},
		{"heap_only", heapOnly},
	} {
		b.Run(v.name, func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				// What the last fan-out rolled back, vacuumed away: every
				// variant starts from the same table.
				if _, err := pool.Exec(ctx, `VACUUM deliveries`); err != nil {
					b.Fatal(err)
				}
				fanOutOnce(b, ctx, pool, campaignID, v.ddl, n)
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*n), "µs/recipient")
		})
	}
}

// fanOutOnce fans campaign out to a new run inside a transaction that first
// runs ddl, timing only the fan-out, and rolls everything back.
func fanOutOnce(b *testing.B, ctx context.Context, pool *pgxpool.Pool, campaignID int64, ddl string, want int) {
	b.Helper()
	tx, err := pool.Begin(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback(ctx)
	var runID int64
	if err := tx.QueryRow(ctx, `INSERT INTO campaign_runs (campaign_id, scheduled_for, status)
		VALUES ($1, clock_timestamp(), 'pending') RETURNING id`, campaignID).Scan(&runID); err != nil {
		b.Fatal(err)
	}
	if ddl != "" {
		if _, err := tx.Exec(ctx, ddl); err != nil {
			b.Fatal(err)
		}
	}
	sql, args := db.FanOutStatement(campaignID, runID)
	var total, skipped int
	b.StartTimer()
	err = tx.QueryRow(ctx, sql, args).Scan(&total, &skipped)
	b.StopTimer()
	if err != nil || total != want {
		b.Fatalf("fan-out: %d rows, %v", total, err)
	}
}
