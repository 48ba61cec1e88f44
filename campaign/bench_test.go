package campaign_test

import (
	"context"
	"testing"
	"time"

	"github.com/broadcaster/broadcaster/campaign"
	"github.com/broadcaster/broadcaster/db"
	"github.com/broadcaster/broadcaster/internal/dbtest"
	"github.com/broadcaster/broadcaster/sender"
	"github.com/broadcaster/broadcaster/sender/sendertest"
	"github.com/rs/zerolog"
)

// BenchmarkDispatch measures the whole send path in one process — claim
// from PostgreSQL, render, POST to the fake API over loopback (its cheap
// mode: no added latency), record in batches — at make bench's throughput
// settings: concurrency 64, one account, no pacing. It reports deliveries
// per second. Its CPU profile is the send path's (the fake API's frames,
// under sendertest, are the API's own):
//
//	go test -run '^$' -bench Dispatch -benchtime 3x -cpuprofile cpu.out ./campaign
//	go tool pprof -top -cum cpu.out
func BenchmarkDispatch(b *testing.B) {
	const perRun, concurrency = 10_000, 64
	ctx := context.Background()
	pool := dbtest.New(b)
	store := db.NewStore(pool, "bench")
	api, err := sendertest.Start(sendertest.Config{Token: "t", Cheap: true})
	if err != nil {
		b.Fatal(err)
	}
	defer api.Close()
	snd, err := sender.New(sender.Options{BaseURL: api.URL(), Token: "t", MaxConns: concurrency})
	if err != nil {
		b.Fatal(err)
	}
	var tmpl int64
	if err := pool.QueryRow(ctx, `INSERT INTO applet_templates (name, img_url, content)
		VALUES ('b', 'https://a/{{wcId}}.jpg', $1) RETURNING id`, applet).Scan(&tmpl); err != nil {
		b.Fatal(err)
	}
	disp := campaign.NewDispatcher(store, snd, campaign.DispatchConfig{
		Concurrency: concurrency,
		Retry:       campaign.RetryPolicy{MaxAttempts: 1, Backoff: time.Second, MaxBackoff: time.Second},
	}, zerolog.Nop())
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		var id int64
		if err := pool.QueryRow(ctx, `INSERT INTO campaigns (name, template_id, w_id, recipients)
			SELECT 'b', $1, 'w', array_agg('wxid_' || g) FROM generate_series(1, $2) g RETURNING id`, tmpl, perRun).Scan(&id); err != nil {
			b.Fatal(err)
		}
		if _, err := store.CreateRun(ctx, id, time.Now()); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := disp.Drain(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if sent := api.Stats().Sent; sent != b.N*perRun {
		b.Fatalf("sent %d, want %d", sent, b.N*perRun)
	}
	b.ReportMetric(float64(b.N*perRun)/b.Elapsed().Seconds(), "deliveries/s")
}
