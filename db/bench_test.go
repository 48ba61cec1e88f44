package db_test

import (
	"context"
	"testing"
	"time"

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
