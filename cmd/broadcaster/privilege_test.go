package main

import (
	"context"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/broadcaster/broadcaster/sender/sendertest"
)

// The role of deploy/least-privilege.sql can do a whole batch run.
func TestLeastPrivilegeRoleRunsABatch(t *testing.T) {
	t.Parallel()
	env, api, conn := daemonEnv(t, sendertest.Config{Faults: map[string]sendertest.Fault{"wxid_3": sendertest.Code("1002", "not friends")}})
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
	if n := count(t, conn, `SELECT count(*) FROM deliveries WHERE status = 'sent'`); n != 2 || api.Stats().Sent != 2 {
		t.Errorf("sent %d (API %d), want 2 (wxid_3 refuses)", n, api.Stats().Sent)
	}
	if r := broadcaster(t, env, "report"); r.code != 0 {
		t.Errorf("report as broadcaster_app: %s", r)
	}
	if r := broadcaster(t, env, "check"); r.code != 0 || strings.Contains(r.stdout, "warning") {
		t.Errorf("check as broadcaster_app: %s", r)
	}

	app, err := pgx.Connect(ctx, env["DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close(ctx)
	// A large fan-out analyses its month through the owner's function (0012).
	var analysed bool
	if err := app.QueryRow(ctx, `SELECT broadcaster_analyze_run(max(id), 5000) FROM campaign_runs`).Scan(&analysed); err != nil || !analysed {
		t.Errorf("broadcaster_analyze_run as broadcaster_app = %v, %v; want the partition analysed", analysed, err)
	}

	// Partitions are kept through the owner's functions only.
	var created int
	if err := app.QueryRow(ctx, `SELECT broadcaster_ensure_partitions(now() + interval '6 months', 0)`).Scan(&created); err != nil || created != 1 {
		t.Errorf("broadcaster_ensure_partitions as broadcaster_app = %d, %v; want 1 month created", created, err)
	}
	if _, err := app.Exec(ctx, `SELECT broadcaster_drop_partition(deliveries_partition) FROM broadcaster_partitions
		WHERE range_from > now() + interval '5 months'`); err != nil {
		t.Errorf("broadcaster_drop_partition as broadcaster_app: %v", err)
	}
	if n := count(t, conn, `SELECT count(*) FROM broadcaster_partitions WHERE range_from > now() + interval '5 months'`); n != 0 {
		t.Errorf("%d partitions left that broadcaster_app dropped", n)
	}
	for _, sql := range []string{
		`SELECT broadcaster_create_partition('deliveries', 'deliveries_x', 'run_id, wc_id', now(), now() + interval '1 day')`,
		`SELECT count(*) FROM deliveries_default`,
		`DROP TABLE deliveries_legacy`,
	} {
		if _, err := app.Exec(ctx, sql); err == nil || !strings.Contains(err.Error(), "permission denied") && !strings.Contains(err.Error(), "must be owner") {
			t.Errorf("%s as broadcaster_app: %v, want permission denied", sql, err)
		}
	}
	// A resend: the grants cover locking the run, inserting the new one, its
	// deliveries and its audit_log row; that row and the daemon's completion
	// of the campaign name the role that really made them.
	if r := broadcaster(t, env, "resend", "--run", "1", "--status", "failed"); r.code != 0 {
		t.Errorf("resend as broadcaster_app: %s", r)
	}
	if n := count(t, conn, `SELECT count(*) FROM audit_log WHERE db_role = 'broadcaster_app'
		AND (action, credential) IN (('resend', 'cli'), ('complete', 'daemon'))`); n != 2 {
		t.Errorf("audit_log has %d of broadcaster_app's resend and completion, want 2", n)
	}
	// Retention too: it reads through the parent tables and drops through
	// the owner's functions.
	oldRun(t, conn, "old", time.Date(2025, time.January, 5, 0, 0, 0, 0, time.UTC), "completed", 2)
	dir := t.TempDir()
	r = broadcaster(t, env, "prune", "--older-than", "90d", "--archive", dir)
	if r.code != 0 || !strings.Contains(r.stdout, "archived deliveries_p2025_01: 2 deliveries, 2 attempts") {
		t.Errorf("prune as broadcaster_app: %s", r)
	}
}
