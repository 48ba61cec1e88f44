package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/broadcaster/broadcaster/sender/sendertest"
)

// The real daemon during an outage of the whole API: it pauses sending
// instead of resting the account, and resumes at the first probe after the
// API is back, with every recipient sent once.
func TestDaemonPausesOnAWholeAPIOutageAndResumes(t *testing.T) {
	t.Parallel()
	env, api, conn := daemonEnv(t, sendertest.Config{Fault: sendertest.HTTPError(503, "")})
	env["BROADCASTER_WORKERS_CONCURRENCY"] = "4"
	env["BROADCASTER_BREAKER_CONSECUTIVE_FAILURES"] = "3"
	env["BROADCASTER_RETRY_BACKOFF"] = "10ms"
	env["BROADCASTER_RETRY_MAX_BACKOFF"] = "20ms"
	env["BROADCASTER_HTTP_LISTEN"] = "127.0.0.1:0"
	insertCampaign(t, conn, "outage", 20)
	d := startDaemon(t, env)
	base := "http://" + d.waitLog(t, "serving /healthz and /metrics")["addr"].(string)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	line := d.waitLog(t, "API unreachable: sending paused on every instance")
	if line["breaker"] != "api" {
		t.Errorf("pause logged as %v, want breaker api", line["breaker"])
	}
	// The pause is shared through api_outage, written just after it is logged.
	for count(t, conn, `SELECT count(*) FROM api_outage WHERE since IS NOT NULL AND last_error LIKE 'HTTP 503%'`) != 1 {
		select {
		case <-ctx.Done():
			t.Fatal("api_outage does not show the pause and its cause")
		case <-time.After(20 * time.Millisecond):
		}
	}
	// Not ready while paused, saying which breaker is open and nothing of
	// the API's address; still live: a restart would not bring the API back.
	body := waitProbe(ctx, t, base+"/readyz", http.StatusServiceUnavailable)
	if !strings.Contains(body, "api: sending paused") || strings.Contains(body, strings.TrimPrefix(api.URL(), "http://")) {
		t.Errorf("GET /readyz during the outage: %q", body)
	}
	if status, body := probe(t, base+"/livez"); status != http.StatusOK {
		t.Errorf("GET /livez during the outage = %d %q, want 200", status, body)
	}
	api.Update(func(c *sendertest.Config) { c.Fault = sendertest.Fault{} })
	d.waitLog(t, "API answers again: sending resumed on every instance")
	waitProbe(ctx, t, base+"/readyz", http.StatusOK)
	deadline := time.Now().Add(60 * time.Second)
	for count(t, conn, `SELECT count(*) FROM deliveries WHERE status = 'sent'`) != 20 {
		if time.Now().After(deadline) {
			t.Fatal("not every delivery sent within 60s of the API's return")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code := d.stop(t); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0", code)
	}
	if n := count(t, conn, `SELECT count(*) FROM sending_accounts WHERE consecutive_failures > 0`); n != 0 {
		t.Errorf("the outage counted against %d accounts' breakers", n)
	}
	if st := api.Stats(); st.Sent != 20 {
		t.Errorf("the API sent %d messages, want 20 (each recipient once)", st.Sent)
	}
}
