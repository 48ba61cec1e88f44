package main

import (
	"context"
	"testing"
	"time"

	"github.com/broadcaster/broadcaster/sender/sendertest"
)

// Two daemons share one database; one dies by SIGKILL mid-run. No recipient
// gets two messages, the survivor sends everything else, and the dead one's
// claims become `unknown` once its lease (api.timeout + 10s) runs out.
func TestTwoInstancesAndACrashNeverSendTwice(t *testing.T) {
	t.Parallel()
	env, api, conn := daemonEnv(t, sendertest.Config{Latency: 30 * time.Millisecond})
	env["BROADCASTER_WORKERS_CONCURRENCY"] = "4"
	env["BROADCASTER_API_TIMEOUT"] = "1s"
	env["BROADCASTER_SCHEDULER_POLL_INTERVAL"] = "200ms"
	const n = 300
	id := insertCampaign(t, conn, "shared", n)
	victim := startDaemon(t, env)
	survivor := startDaemon(t, env)

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := api.Wait(ctx, func(s sendertest.Stats) bool { return s.Sent >= n/3 }); err != nil {
		t.Fatal(err)
	}
	if err := victim.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-victim.done
	for {
		open := count(t, conn, `SELECT count(*) FROM deliveries WHERE campaign_id = $1 AND status IN ('pending', 'sending')`, id)
		if open == 0 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%d deliveries still open after the crash", open)
		case <-time.After(100 * time.Millisecond):
		}
	}
	if code := survivor.stop(t); code != 0 {
		t.Errorf("survivor exit %d", code)
	}

	perRecipient := map[string]int{}
	for _, r := range api.Requests() {
		if r.Sent() {
			perRecipient[r.WcID]++
		}
	}
	for wc, k := range perRecipient {
		if k > 1 {
			t.Errorf("%s got %d messages", wc, k)
		}
	}
	sent := count(t, conn, `SELECT count(*) FROM deliveries WHERE campaign_id = $1 AND status = 'sent'`, id)
	unknown := count(t, conn, `SELECT count(*) FROM deliveries WHERE campaign_id = $1 AND status = 'unknown'`, id)
	if sent+unknown != n {
		t.Errorf("sent %d + unknown %d != %d", sent, unknown, n)
	}
	// What the database calls sent, the API sent; an unknown one may or may
	// not have gone out (the victim died holding it), but never twice.
	if sent > len(perRecipient) || len(perRecipient) > sent+unknown {
		t.Errorf("database: %d sent, %d unknown; API: %d recipients reached", sent, unknown, len(perRecipient))
	}
	if by := count(t, conn, `SELECT count(DISTINCT claimed_by) FROM deliveries`); by != 0 {
		t.Errorf("%d claimants left on finished deliveries", by)
	}
}
