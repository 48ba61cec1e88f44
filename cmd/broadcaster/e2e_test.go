package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/broadcaster/broadcaster/internal/dbtest"
	"github.com/broadcaster/broadcaster/sender/sendertest"
)

const token = "tok-e2e-9f8e7d"

// batchEnv is the environment of a quick batch against dbURL and api: short
// backoff, no pacing, JSON logs, four workers.
func batchEnv(dbURL string, api *sendertest.Server) map[string]string {
	return map[string]string{
		"DATABASE_URL":                       dbURL,
		"BROADCASTER_API_BASE_URL":           api.URL(),
		"BROADCASTER_API_TOKEN":              token,
		"BROADCASTER_RETRY_BACKOFF":          "5ms",
		"BROADCASTER_RETRY_MAX_BACKOFF":      "20ms",
		"BROADCASTER_LOG_FORMAT":             "json",
		"BROADCASTER_WORKERS_CONCURRENCY":    "4",
		"BROADCASTER_RATE_LIMIT_PER_ACCOUNT": "0",
		"BROADCASTER_RATE_LIMIT_JITTER":      "0s",
	}
}

func TestEndToEndBatch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbURL := dbtest.NewURL(t)
	api, err := sendertest.Start(sendertest.Config{Token: token, Faults: map[string]sendertest.Fault{
		"wxid_blocked": sendertest.Code("1002", "not friends"),
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	env := batchEnv(dbURL, api)
	env["BROADCASTER_LOG_LEVEL"] = "debug"
	for range 2 {
		if r := broadcaster(t, env, "migrate"); r.code != 0 {
			t.Fatalf("migrate: %s", r)
		}
	}

	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var campaignID int64
	err = conn.QueryRow(ctx, `
		WITH t AS (INSERT INTO applet_templates (name, img_url, content)
		           VALUES ('seed', 'http://photocdn.sohu.com/20120323/Img338614056.jpg', $1) RETURNING id),
		     l AS (INSERT INTO recipient_lists (name) VALUES ('vip') RETURNING id),
		     m AS (INSERT INTO recipient_list_members (list_id, wc_id)
		           SELECT l.id, unnest(ARRAY['wxid_b', 'wxid_c', '123@chatroom', 'wxid_quiet']) FROM l),
		     s AS (INSERT INTO suppressions (wc_id, reason) VALUES ('wxid_quiet', 'opted out'))
		INSERT INTO campaigns (name, template_id, w_id, recipients, list_ids)
		SELECT 'nightly', t.id, 'wid-e2e', ARRAY['wxid_a', 'wxid_b', 'wxid_blocked'], ARRAY[l.id] FROM t, l
		RETURNING id`, "<msg>"+seedAppMsg+"</msg>").Scan(&campaignID)
	if err != nil {
		t.Fatal(err)
	}
	var brokenID int64
	if err := conn.QueryRow(ctx, `INSERT INTO campaigns (name, template_id, w_id, recipients)
		SELECT 'broken', id, '', '{wxid_a}' FROM applet_templates RETURNING id`).Scan(&brokenID); err != nil {
		t.Fatal(err)
	}
	api.Update(func(c *sendertest.Config) { c.FailFirst = 1 }) // every recipient's first try answers 1001

	r := broadcaster(t, env, "run", "--once")
	if r.code != 0 {
		t.Fatalf("run --once: %s", r)
	}
	if strings.Contains(r.stderr, token) {
		t.Errorf("the API token appears in the logs")
	}

	// Every row the database holds agrees with what the API answered.
	sent := map[string]sendertest.Request{}
	for _, q := range api.Requests() {
		if q.Rejected != "" {
			t.Fatalf("API rejected a request: %s", q.Rejected)
		}
		if q.Content != seedAppMsg || q.WID != "wid-e2e" || q.ImgURL != "http://photocdn.sohu.com/20120323/Img338614056.jpg" {
			t.Errorf("request fields = %q %q %q", q.WID, q.ImgURL, q.Content[:min(len(q.Content), 40)])
		}
		if q.Sent() {
			if _, dup := sent[q.WcID]; dup {
				t.Errorf("%s sent twice", q.WcID)
			}
			sent[q.WcID] = q
		}
	}
	rows, _ := conn.Query(ctx, `SELECT wc_id, status, attempts, coalesce(last_code, ''), coalesce(last_error, ''),
		msg_id, new_msg_id, create_time, msg_type FROM deliveries WHERE campaign_id = $1 ORDER BY wc_id`, campaignID)
	type row struct {
		wc, status, code, lastErr       string
		attempts                        int
		msgID, newMsgID, createTime, mt *int64
	}
	got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
		var x row
		err := r.Scan(&x.wc, &x.status, &x.attempts, &x.code, &x.lastErr, &x.msgID, &x.newMsgID, &x.createTime, &x.mt)
		return x, err
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"123@chatroom": "sent 2", "wxid_a": "sent 2", "wxid_b": "sent 2", "wxid_c": "sent 2",
		"wxid_blocked": "failed 1", "wxid_quiet": "skipped 0",
	}
	if len(got) != len(want) {
		t.Fatalf("deliveries = %+v", got)
	}
	for _, x := range got {
		if w := want[x.wc]; x.status+" "+strconv.Itoa(x.attempts) != w {
			t.Errorf("%s: %s %d, want %s", x.wc, x.status, x.attempts, w)
		}
		if x.status != "sent" {
			continue
		}
		q := sent[x.wc]
		if x.code != "1000" || *x.msgID != q.MsgID || *x.newMsgID != q.NewMsgID || *x.createTime != q.CreateTime || *x.mt != 0 {
			t.Errorf("%s: stored %s %d/%d/%d, API answered %d/%d/%d", x.wc, x.code, *x.msgID, *x.newMsgID, *x.createTime, q.MsgID, q.NewMsgID, q.CreateTime)
		}
	}
	var status, campaignErr string
	if err := conn.QueryRow(ctx, `SELECT status, coalesce(error, '') FROM campaigns WHERE id = $1`, brokenID).Scan(&status, &campaignErr); err != nil {
		t.Fatal(err)
	}
	if status != "invalid" || !strings.Contains(campaignErr, "w_id is empty") {
		t.Errorf("broken campaign: %s %q", status, campaignErr)
	}
	if err := conn.QueryRow(ctx, `SELECT status FROM campaigns WHERE id = $1`, campaignID).Scan(&status); err != nil || status != "completed" {
		t.Errorf("campaign status %s, %v; want completed", status, err)
	}

	checkReports(t, env, campaignID, sent["wxid_a"])
}

func checkReports(t *testing.T, env map[string]string, campaignID int64, a sendertest.Request) {
	t.Helper()
	var runID int64 = 1
	r := broadcaster(t, env, "report", "--run", "1", "--format", "json")
	if r.code != 0 {
		t.Fatalf("report json: %s", r)
	}
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	dec.UseNumber()
	var rep struct {
		Runs       []map[string]any `json:"runs"`
		Deliveries []map[string]any `json:"deliveries"`
	}
	if err := dec.Decode(&rep); err != nil {
		t.Fatalf("report json: %v\n%s", err, r.stdout)
	}
	if len(rep.Runs) != 1 || rep.Runs[0]["sent"] != json.Number("4") || rep.Runs[0]["skipped"] != json.Number("1") ||
		rep.Runs[0]["run_id"] != json.Number(strconv.FormatInt(runID, 10)) {
		t.Errorf("runs = %v", rep.Runs)
	}
	found := false
	for _, d := range rep.Deliveries {
		if d["wc_id"] == "wxid_a" {
			found = true
			if d["new_msg_id"] != json.Number(strconv.FormatInt(a.NewMsgID, 10)) {
				t.Errorf("new_msg_id in JSON = %v, want exactly %d", d["new_msg_id"], a.NewMsgID)
			}
		}
	}
	if !found || len(rep.Deliveries) != 6 {
		t.Errorf("deliveries in JSON: %v", rep.Deliveries)
	}

	r = broadcaster(t, env, "report", "--campaign", strconv.FormatInt(campaignID, 10), "--format", "csv")
	recs, err := csv.NewReader(strings.NewReader(r.stdout)).ReadAll()
	if r.code != 0 || err != nil || len(recs) != 2 {
		t.Fatalf("report csv: %v %s", err, r)
	}
	wantHeader := "run_id,campaign_id,campaign_name,w_id,scheduled_for,status,total,sent,failed,unknown,pending,skipped,attempts,success_rate,started_at,finished_at,resend_of"
	if h := strings.Join(recs[0], ","); h != wantHeader {
		t.Errorf("csv header = %s", h)
	}
	r = broadcaster(t, env, "report")
	if r.code != 0 || !strings.Contains(r.stdout, "nightly") || !strings.Contains(r.stdout, "completed") {
		t.Errorf("report table: %s", r)
	}
}

func TestConcurrentMigrations(t *testing.T) {
	t.Parallel()
	env := map[string]string{"DATABASE_URL": dbtest.NewURL(t)}
	var wg sync.WaitGroup
	results := make([]result, 3)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = broadcaster(t, env, "migrate")
		}()
	}
	wg.Wait()
	for _, r := range results {
		if r.code != 0 {
			t.Errorf("concurrent migrate: %s", r)
		}
	}
}

func TestExitCodes(t *testing.T) {
	t.Parallel()
	unreachable := "postgres://broadcaster:s3cret@127.0.0.1:1/nope?connect_timeout=5"
	api := map[string]string{"BROADCASTER_API_BASE_URL": "http://127.0.0.1:1", "BROADCASTER_API_TOKEN": "t"}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range api {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name     string
		env      map[string]string
		args     []string
		code     int
		contains string
		absent   string
	}{
		{"help", nil, []string{"--help"}, 0, "--once", ""},
		{"command help", nil, []string{"run", "--help"}, 0, "-once", ""},
		{"no command", nil, nil, 2, "usage", ""},
		{"unknown command", nil, []string{"launch"}, 2, `unknown command "launch"`, ""},
		{"bad flag", nil, []string{"report", "--bogus"}, 2, "bogus", ""},
		{"bad format", with(map[string]string{"DATABASE_URL": unreachable}), []string{"report", "--format", "xml"}, 2, "--format", ""},
		{"bad duration", map[string]string{"BROADCASTER_RETRY_BACKOFF": "2 seconds"}, []string{"migrate"}, 2, "retry.backoff", ""},
		{"bad number", map[string]string{"BROADCASTER_WORKERS_CONCURRENCY": "many"}, []string{"migrate"}, 2, "workers.concurrency", ""},
		{"no database", api, []string{"run", "--once"}, 2, "database.url", ""},
		{"no api", map[string]string{"DATABASE_URL": unreachable}, []string{"run", "--once"}, 2, "api.base_url", ""},
		{"unreachable database", with(map[string]string{"DATABASE_URL": unreachable}), []string{"run", "--once"}, 1, "cannot reach the database", "s3cret"},
		{"missing config file", nil, []string{"--config", "/nonexistent.yaml", "migrate"}, 2, "nonexistent.yaml", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := broadcaster(t, tt.env, tt.args...)
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d: %s", r.code, tt.code, r)
			}
			out := r.stdout + r.stderr
			if !strings.Contains(out, tt.contains) {
				t.Errorf("output does not mention %q: %s", tt.contains, r)
			}
			if tt.absent != "" && strings.Contains(out, tt.absent) {
				t.Errorf("output reveals %q: %s", tt.absent, r)
			}
		})
	}
}

func TestRunOnceNeedsMigratedDatabase(t *testing.T) {
	env := map[string]string{"DATABASE_URL": dbtest.NewURL(t), "BROADCASTER_API_BASE_URL": "http://127.0.0.1:1", "BROADCASTER_API_TOKEN": "t"}
	r := broadcaster(t, env, "run", "--once")
	if r.code != 1 || !strings.Contains(r.stderr, "broadcaster migrate") {
		t.Errorf("run on an empty database: %s", r)
	}
}
