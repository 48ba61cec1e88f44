package main

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/broadcaster/broadcaster/sender/sendertest"
)

// The one end-to-end pacing check (SPEC §6): two daemons share the database
// and send for two accounts, one of which starts a second run while it is
// being paced. Measured where the API sees the sends, no 1-second window
// holds more than burst + per_account sends of one account, a run's first
// sends included. Only the spacing is bounded, never how long anything took.
func TestPacingHoldsAtTheAPIAcrossInstancesAndRuns(t *testing.T) {
	t.Parallel()
	env, api, conn := daemonEnv(t, sendertest.Config{Latency: 20 * time.Millisecond})
	env["BROADCASTER_WORKERS_CONCURRENCY"] = "8"
	env["BROADCASTER_RATE_LIMIT_PER_ACCOUNT"] = "5"
	env["BROADCASTER_RATE_LIMIT_BURST"] = "1"
	env["BROADCASTER_RATE_LIMIT_JITTER"] = "50ms"
	env["BROADCASTER_SCHEDULER_POLL_INTERVAL"] = "200ms"
	daemons := []*daemon{startDaemon(t, env), startDaemon(t, env)}

	pacedCampaign(t, conn, "first", "wid-a", 10)
	pacedCampaign(t, conn, "other", "wid-b", 10)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := api.Wait(ctx, func(s sendertest.Stats) bool { return s.Sent >= 6 }); err != nil {
		t.Fatal(err)
	}
	pacedCampaign(t, conn, "second", "wid-a", 8) // a new run's first sends, mid-pacing
	if err := api.Wait(ctx, func(s sendertest.Stats) bool { return s.Sent == 28 }); err != nil {
		t.Fatalf("%v (%+v)", err, api.Stats())
	}
	for _, d := range daemons {
		if code := d.stop(t); code != 0 {
			t.Errorf("exit %d after SIGTERM, want 0", code)
		}
	}

	byAccount := map[string][]time.Time{}
	for _, r := range api.Requests() {
		byAccount[r.WID] = append(byAccount[r.WID], r.Received)
	}
	for acct, want := range map[string]int{"wid-a": 18, "wid-b": 10} {
		ts := byAccount[acct]
		slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
		if len(ts) != want {
			t.Errorf("%s: %d requests, want %d", acct, len(ts), want)
		}
		for _, c := range sendertest.CrowdedWindows(ts, 1, 5, 10*time.Millisecond) {
			t.Errorf("%s: %s", acct, c)
		}
	}
}

// pacedCampaign inserts a one-shot campaign due now, sending from wID.
func pacedCampaign(t *testing.T, conn *pgx.Conn, name, wID string, n int) {
	t.Helper()
	_, err := conn.Exec(context.Background(), `
		WITH t AS (INSERT INTO applet_templates (name, img_url, content)
		           VALUES ($1, 'https://cdn.example.com/c.jpg', '<appmsg><title>hi</title></appmsg>') RETURNING id)
		INSERT INTO campaigns (name, template_id, w_id, recipients)
		SELECT $1, t.id, $2, array_agg($1 || '_' || g) FROM t, generate_series(1, $3) g GROUP BY t.id`, name, wID, n)
	if err != nil {
		t.Fatal(err)
	}
}
