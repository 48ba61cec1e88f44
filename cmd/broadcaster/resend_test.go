package main

import (
	"context"
	"encoding/csv"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/broadcaster/broadcaster/internal/dbtest"
	"github.com/broadcaster/broadcaster/sender/sendertest"
)

// A one-shot campaign's run fails two recipients and leaves one unknown;
// one of the failed is suppressed since. `resend` re-sends exactly the other
// two, as a run linked to the first that is sent although the campaign is
// completed, with {{date}} as the first run's.
func TestResendEndToEnd(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbURL := dbtest.NewURL(t)
	api, err := sendertest.Start(sendertest.Config{Token: token, Faults: map[string]sendertest.Fault{
		"wxid_f1":  sendertest.Code("1002", "not friends"),
		"wxid_f2":  sendertest.Code("1002", "not friends"),
		"wxid_cut": sendertest.Cut(),
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	env := batchEnv(dbURL, api)
	env["USER"] = "ops-e2e"
	if r := broadcaster(t, env, "migrate"); r.code != 0 {
		t.Fatalf("migrate: %s", r)
	}
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var campaignID int64
	err = conn.QueryRow(ctx, `
		WITH t AS (INSERT INTO applet_templates (name, img_url, content)
		           VALUES ('dated', 'https://cdn.example.com/a.jpg',
		                   '<appmsg appid="" sdkver="0"><title>sale of {{date}} for {{wcId}}</title></appmsg>') RETURNING id)
		INSERT INTO campaigns (name, template_id, w_id, recipients, start_at)
		SELECT 'flash', t.id, 'wid-resend', ARRAY['wxid_ok', 'wxid_f1', 'wxid_f2', 'wxid_cut'], now() - interval '3 days' FROM t
		RETURNING id`).Scan(&campaignID)
	if err != nil {
		t.Fatal(err)
	}
	if r := broadcaster(t, env, "run", "--once"); r.code != 0 {
		t.Fatalf("run --once: %s", r)
	}
	var (
		runID  int64
		status string
	)
	if err := conn.QueryRow(ctx, `SELECT r.id, c.status FROM campaign_runs r JOIN campaigns c ON c.id = r.campaign_id WHERE c.id = $1`,
		campaignID).Scan(&runID, &status); err != nil {
		t.Fatal(err)
	}
	if status != "completed" {
		t.Fatalf("one-shot campaign after its run: %s, want completed", status)
	}
	first := map[string]string{} // wcId → content of its first request
	for _, q := range api.Requests() {
		first[q.WcID] = q.Content
	}
	before := len(api.Requests())
	api.Update(func(c *sendertest.Config) { c.Faults = nil })
	if _, err := conn.Exec(ctx, `INSERT INTO suppressions (wc_id, reason) VALUES ('wxid_f2', 'opted out')`); err != nil {
		t.Fatal(err)
	}
	run := strconv.FormatInt(runID, 10)

	for _, args := range [][]string{
		{"resend", "--status", "failed"},
		{"resend", "--run", run},
		{"resend", "--run", run, "--status", "failed,sent"},
	} {
		if r := broadcaster(t, env, args...); r.code != 2 {
			t.Errorf("%v: exit %d, want 2 (usage)\n%s", args, r.code, r)
		}
	}
	r := broadcaster(t, env, "resend", "--run", run, "--status", "failed,unknown", "--dry-run")
	if r.code != 0 || !strings.Contains(r.stdout, "would re-send 2 recipients (1 more skipped") ||
		!strings.Contains(r.stdout, "warning: 1 of them ended unknown: they may already have the message") ||
		!strings.Contains(r.stdout, "dry run") {
		t.Fatalf("resend --dry-run: %s", r)
	}
	if n := count(t, conn, `SELECT count(*) FROM campaign_runs`); n != 1 {
		t.Fatalf("%d runs after a dry run, want 1", n)
	}
	r = broadcaster(t, env, "resend", "--run", run, "--status", "failed,unknown")
	if r.code != 0 || !strings.Contains(r.stdout, "re-sends 2 recipients") || !strings.Contains(r.stdout, "may already have") {
		t.Fatalf("resend: %s", r)
	}
	var newRunID int64
	if err := conn.QueryRow(ctx, `SELECT id FROM campaign_runs WHERE resend_of = $1`, runID).Scan(&newRunID); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.stdout, "new run "+strconv.FormatInt(newRunID, 10)) {
		t.Errorf("resend does not name the new run %d: %s", newRunID, r)
	}
	if r := broadcaster(t, env, "resend", "--run", run, "--status", "failed,unknown"); r.code != 1 ||
		!strings.Contains(r.stderr, "re-sends them already") {
		t.Errorf("the same resend again: want exit 1 saying it was re-sent already: %s", r)
	}

	if r := broadcaster(t, env, "run", "--once"); r.code != 0 {
		t.Fatalf("run --once after resend: %s", r)
	}
	again := map[string]int{}
	for _, q := range api.Requests()[before:] {
		again[q.WcID]++
		if q.Content != first[q.WcID] {
			t.Errorf("re-sent content %q, first %q: {{date}} must render as in the first run", q.Content, first[q.WcID])
		}
	}
	if len(again) != 2 || again["wxid_f1"] != 1 || again["wxid_cut"] != 1 {
		t.Errorf("requests after resend = %v, want wxid_f1 and wxid_cut once each", again)
	}
	var runStatus, campStatus string
	if err := conn.QueryRow(ctx, `SELECT r.status, c.status FROM campaign_runs r JOIN campaigns c ON c.id = r.campaign_id WHERE r.id = $1`,
		newRunID).Scan(&runStatus, &campStatus); err != nil {
		t.Fatal(err)
	}
	if runStatus != "completed" || campStatus != "completed" {
		t.Errorf("resend run %s, campaign %s; want both completed", runStatus, campStatus)
	}

	r = broadcaster(t, env, "report", "--format", "csv")
	recs, err := csv.NewReader(strings.NewReader(r.stdout)).ReadAll()
	if r.code != 0 || err != nil || len(recs) != 3 {
		t.Fatalf("report csv: %v %s", err, r)
	}
	last := len(recs[0]) - 1
	if recs[0][last] != "resend_of" || recs[1][last] != "" || recs[2][last] != run {
		t.Errorf("report's resend_of column: %v", recs)
	}
	var who, credential, action string
	if err := conn.QueryRow(ctx, `SELECT who, credential, action FROM audit_log WHERE target = $1`, "run "+run).
		Scan(&who, &credential, &action); err != nil {
		t.Fatal(err)
	}
	if who != "ops-e2e" || credential != "cli" || action != "resend" {
		t.Errorf("audit row: %s %s %s", who, credential, action)
	}
}
