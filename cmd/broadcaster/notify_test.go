package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/broadcaster/broadcaster/sender/sendertest"
)

// With a poll interval of an hour, only the campaigns trigger's notification
// can make the daemon act on rows inserted or updated after it started.
func TestDaemonActsOnCampaignChangesAtOnce(t *testing.T) {
	t.Parallel()
	env, api, conn := daemonEnv(t, sendertest.Config{})
	env["BROADCASTER_SCHEDULER_POLL_INTERVAL"] = "1h"
	env["BROADCASTER_HTTP_LISTEN"] = "127.0.0.1:0"
	d := startDaemon(t, env)
	serving := d.waitLog(t, "serving /healthz and /metrics")
	d.waitLog(t, "listening for campaign notifications")
	base := "http://" + serving["addr"].(string)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	insertCampaign(t, conn, "inserted later", 3)
	if err := api.Wait(ctx, func(s sendertest.Stats) bool { return s.Sent == 3 }); err != nil {
		t.Fatalf("a campaign inserted while the daemon ran was not sent: %v", err)
	}

	// Cancelling a campaign mid-run skips what it has not sent.
	api.Update(func(c *sendertest.Config) { c.Latency = 200 * time.Millisecond })
	id := insertCampaign(t, conn, "to cancel", 200)
	if err := api.Wait(ctx, func(s sendertest.Stats) bool { return s.Requests > 3 }); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `UPDATE campaigns SET status = 'cancelled' WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	for count(t, conn, `SELECT count(*) FROM campaign_runs WHERE campaign_id = $1 AND status = 'cancelled'`, id) != 1 {
		select {
		case <-ctx.Done():
			t.Fatal("the cancelled campaign's run was not cancelled")
		case <-time.After(20 * time.Millisecond):
		}
	}
	skipped := count(t, conn, `SELECT count(*) FROM deliveries WHERE campaign_id = $1 AND status = 'skipped' AND last_error = 'cancelled'`, id)
	if skipped == 0 {
		t.Error("no delivery of the cancelled campaign was skipped")
	}

	for path, want := range map[string]string{
		"/healthz": "ok",
		"/metrics": `broadcaster_deliveries_finished_total{status="sent"}`,
	} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), want) {
			t.Errorf("GET %s: %d %.300s", path, resp.StatusCode, body)
		}
	}
	if code := d.stop(t); code != 0 {
		t.Errorf("exit %d after SIGTERM", code)
	}
	if n := count(t, conn, `SELECT count(*) FROM deliveries WHERE status IN ('sending', 'pending') AND campaign_id = $1`, id); n != 0 {
		t.Errorf("%d deliveries of the cancelled campaign still pending or sending", n)
	}
}
