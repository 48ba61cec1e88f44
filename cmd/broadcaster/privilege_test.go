package main

import (
	"context"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/broadcaster/broadcaster/sender/sendertest"
)

// The role of deploy/least-privilege.sql can do a whole batch run.
func TestLeastPrivilegeRoleRunsABatch(t *testing.T) {
	t.Parallel()
	env, api, conn := daemonEnv(t, sendertest.Config{})
	ctx := context.Background()
	grants, err := os.ReadFile("../../deploy/least-privilege.sql")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, string(grants)); err != nil {
		t.Fatalf("least-privilege.sql: %v", err)
	}
	t.Cleanup(func() {
		// The role is cluster-wide: take back what it holds here, and drop
		// it unless another database still grants it something.
		_, _ = conn.Exec(ctx, `DROP OWNED BY broadcaster_app`)
		_, _ = conn.Exec(ctx, `DROP ROLE broadcaster_app`)
	})
	if _, err := conn.Exec(ctx, `ALTER ROLE broadcaster_app PASSWORD 'app-secret'`); err != nil {
		t.Fatal(err)
	}
	insertCampaign(t, conn, "least", 3)

	u, err := url.Parse(env["DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword("broadcaster_app", "app-secret")
	env["DATABASE_URL"] = u.String()
	r := broadcaster(t, env, "run", "--once")
	if r.code != 0 {
		t.Fatalf("run --once as broadcaster_app: %s", r)
	}
	// Some failures are only logged (the shared API pause state): none may
	// be for want of a grant.
	if strings.Contains(r.stderr, "permission denied") {
		t.Errorf("run --once as broadcaster_app lacks a grant: %s", r)
	}
	if n := count(t, conn, `SELECT count(*) FROM deliveries WHERE status = 'sent'`); n != 3 || api.Stats().Sent != 3 {
		t.Errorf("sent %d (API %d), want 3", n, api.Stats().Sent)
	}
	if r := broadcaster(t, env, "report"); r.code != 0 {
		t.Errorf("report as broadcaster_app: %s", r)
	}
	// A resend goes as far as finding nothing to re-send: the grants cover
	// locking the run and inserting the new one and its deliveries.
	if r := broadcaster(t, env, "resend", "--run", "1", "--status", "failed"); r.code != 1 ||
		!strings.Contains(r.stderr, "no failed deliveries") {
		t.Errorf("resend as broadcaster_app: %s", r)
	}
}
