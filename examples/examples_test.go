package examples_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/broadcaster/broadcaster/campaign"
	"github.com/broadcaster/broadcaster/db"
	"github.com/broadcaster/broadcaster/internal/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m, dbtest.WithMigrate(db.Migrate)) }

// read returns a file of the cookbook or of the provider's fixtures.
func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// execFile runs a cookbook file as psql would: the whole file, its
// statements in order, in one round trip (pgx sends a query without
// arguments with the simple protocol, which allows several statements).
func execFile(t *testing.T, pool *pgxpool.Pool, name string) {
	t.Helper()
	if _, err := pool.Exec(context.Background(), read(t, name)); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// query runs a single-statement cookbook file and returns its rows as maps
// by column name.
func query(t *testing.T, pool *pgxpool.Pool, name string) []map[string]any {
	t.Helper()
	rows, err := pool.Query(context.Background(), read(t, name))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToMap)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return out
}

func scalar[T any](t *testing.T, pool *pgxpool.Pool, sql string, args ...any) T {
	t.Helper()
	var v T
	if err := pool.QueryRow(context.Background(), sql, args...).Scan(&v); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return v
}

func TestCookbook(t *testing.T) {
	ctx := context.Background()
	pool := dbtest.New(t)
	store := db.NewStore(pool, "examples")

	setup, err := filepath.Glob("[0-9][0-9]_*.sql")
	if err != nil || len(setup) < 5 {
		t.Fatalf("numbered cookbook files: %v %v", setup, err)
	}
	slices.Sort(setup)
	for _, name := range setup {
		execFile(t, pool, name)
	}

	// 01: the pasted callback yields the provider's applet, byte for byte,
	// and the tracked variant fills its placeholders.
	seed := read(t, "../testdata/provider/seed-appmsg.xml")
	content := scalar[string](t, pool, `SELECT content FROM applet_templates WHERE name = 'yunpu shop'`)
	if got, err := campaign.ExtractAppMsg(content); err != nil || got != seed {
		t.Errorf("template 'yunpu shop' does not yield the seed applet (%v)", err)
	}
	var tracked campaign.Template
	if err := pool.QueryRow(ctx, `SELECT name, img_url, content FROM applet_templates WHERE name = 'yunpu shop (tracked)'`).
		Scan(&tracked.Name, &tracked.ImgURL, &tracked.Content); err != nil {
		t.Fatal(err)
	}
	p, err := campaign.Prepare(tracked)
	if err != nil {
		t.Fatalf("template 'yunpu shop (tracked)': %v", err)
	}
	_, body := p.Render(campaign.Values{WcID: "wxid_a&b", RunID: 7, Date: "2026-11-25"})
	if !strings.Contains(body, "<title>云铺海购 · wxid_a&amp;b</title>") ||
		!strings.Contains(body, "from_uuid=wxid_a&b&run=7&d=2026-11-25]]>") {
		t.Errorf("tracked template rendered:\n%s", body)
	}

	// 02: the list and the suppression.
	members := scalar[[]string](t, pool, `SELECT array_agg(wc_id ORDER BY wc_id) FROM recipient_list_members m
		JOIN recipient_lists l ON l.id = m.list_id WHERE l.name = 'vip'`)
	if want := []string{"1234567890@chatroom", "wxid_a1", "wxid_b2"}; !reflect.DeepEqual(members, want) {
		t.Errorf("vip members = %v, want %v", members, want)
	}
	if r := scalar[string](t, pool, `SELECT reason FROM suppressions WHERE wc_id = 'wxid_b2'`); r != "asked to stop" {
		t.Errorf("suppression reason = %q", r)
	}

	// 03–05: the campaigns, after pause, resume, cancel and a new wId.
	type row struct{ Name, Status, WID, Schedule string }
	rows, _ := pool.Query(ctx, `SELECT name, status, w_id, coalesce(schedule, '') FROM campaigns ORDER BY id`)
	got, err := pgx.CollectRows(rows, pgx.RowToStructByPos[row])
	if err != nil {
		t.Fatal(err)
	}
	want := []row{
		{"vip nightly", "active", "0000016f-78bd-21c8-0002-5a1b0c9d8e7f", "CRON_TZ=Asia/Shanghai 0 2 * * *"},
		{"flash sale", "cancelled", "0000016f-78bd-21c8-0001-29c4d004ae46", ""},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("campaigns = %+v, want %+v", got, want)
	}

	// What `broadcaster check` says about the cookbook: valid campaigns, and
	// a note about the suppressed member.
	checked, err := store.CheckCampaigns(ctx)
	if err != nil || len(checked) != 1 {
		t.Fatalf("CheckCampaigns = %v, %v; want the nightly campaign", checked, err)
	}
	c, err := checked[0].Campaign()
	if err == nil {
		_, err = campaign.Validate(c)
	}
	if err != nil {
		t.Errorf("campaign %q does not validate: %v", checked[0].Name, err)
	}
	findings, err := store.CheckAudiences(ctx)
	if err != nil || len(findings) != 1 || findings[0].Problem ||
		findings[0].Message != "1 of 4 recipients are suppressed and would be skipped" {
		t.Errorf("CheckAudiences = %+v, %v", findings, err)
	}

	runNightly(t, store, checked[0].ID)
	checkAudits(t, pool)
}

// runNightly creates the nightly campaign's run of today, as the scheduler
// does, and records what a sendApplet API might have answered: one sent,
// one refused (code 1002), one timed out. The suppressed member is skipped.
func runNightly(t *testing.T, store *db.Store, id int64) {
	t.Helper()
	ctx := context.Background()
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	y, m, d := time.Now().In(shanghai).Date()
	run, err := store.CreateRun(ctx, id, time.Date(y, m, d, 2, 0, 0, 0, shanghai))
	if err != nil || run.Total != 4 || run.Skipped != 1 {
		t.Fatalf("CreateRun = %+v, %v; want 4 deliveries, 1 skipped", run, err)
	}
	claimed, err := store.Claim(ctx, campaign.ClaimParams{EnsureAccounts: true, Limit: 10, Lease: time.Minute})
	if err != nil || len(claimed) != 3 {
		t.Fatalf("Claim = %v, %v; want 3 deliveries", claimed, err)
	}
	now := time.Now()
	var results []campaign.Result
	for _, dl := range claimed {
		res := campaign.Result{Delivery: dl}
		switch dl.WcID {
		case "wxid_a1":
			res.Status = campaign.DeliverySent
			res.Attempt = campaign.Attempt{Outcome: campaign.OutcomeSent, StartedAt: now, Duration: 180 * time.Millisecond,
				HTTPStatus: 200, Code: "1000", Response: read(t, "../testdata/provider/seed-success-response.json"),
				Receipt: &campaign.Receipt{MsgID: 697760545, NewMsgID: 7645748705605226305, CreateTime: 1641458149, WcID: "wxid_a1"}}
		case "1234567890@chatroom":
			res.Status, res.Error = campaign.DeliveryFailed, "code 1002: not in the group"
			res.Attempt = campaign.Attempt{Outcome: campaign.OutcomeFailed, StartedAt: now, HTTPStatus: 200, Code: "1002",
				Error: res.Error, Response: `{"code":"1002","message":"not in the group","data":null}`}
		default:
			res.Status, res.Error = campaign.DeliveryUnknown, "timeout after the request was sent"
			res.Attempt = campaign.Attempt{Outcome: campaign.OutcomeAmbiguous, StartedAt: now, Duration: 15 * time.Second, Error: res.Error}
		}
		results = append(results, res)
	}
	if _, err := store.Record(ctx, results); err != nil {
		t.Fatalf("Record: %v", err)
	}
}

// checkAudits runs every audit_*.sql file and checks its answer about the
// nightly run. A new audit file without a check here fails the test.
func checkAudits(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	wid := "0000016f-78bd-21c8-0002-5a1b0c9d8e7f"
	checks := map[string]func([]map[string]any) bool{
		"audit_sends_today.sql": func(rs []map[string]any) bool {
			return len(rs) == 1 && rs[0]["w_id"] == wid && rs[0]["sent"] == int64(1)
		},
		"audit_failures_by_code.sql": func(rs []map[string]any) bool {
			return len(rs) == 2 &&
				rs[0]["status"] == "failed" && rs[0]["last_code"] == "1002" && rs[0]["deliveries"] == int64(1) &&
				rs[1]["status"] == "unknown" && rs[1]["last_code"] == nil
		},
		"audit_not_reached.sql": func(rs []map[string]any) bool {
			var got []string
			for _, r := range rs {
				got = append(got, r["wc_id"].(string)+" "+r["status"].(string))
			}
			return reflect.DeepEqual(got, []string{"1234567890@chatroom failed", "wxid_b2 skipped", "wxid_d4 unknown"}) &&
				rs[1]["last_error"] == "suppressed: asked to stop"
		},
		"audit_recipient_attempts.sql": func(rs []map[string]any) bool {
			return len(rs) == 1 && rs[0]["campaign"] == "vip nightly" && rs[0]["code"] == "1000" &&
				rs[0]["new_msg_id"] == int64(7645748705605226305) && rs[0]["w_id"] == wid &&
				strings.Contains(rs[0]["response"].(string), "7645748705605226305")
		},
		"audit_bad_recipients.sql": func(rs []map[string]any) bool { return len(rs) == 0 },
		"audit_log.sql": func(rs []map[string]any) bool { // 05's changes, made with SQL, newest first
			var got []string
			for _, r := range rs {
				got = append(got, r["action"].(string)+" "+r["campaign"].(string)+" "+r["credential"].(string))
			}
			return reflect.DeepEqual(got, []string{"cancel flash sale sql", "resume vip nightly sql", "pause vip nightly sql"})
		},
		"audit_runs.sql": func(rs []map[string]any) bool {
			return len(rs) == 1 && rs[0]["total"] == int64(4) && rs[0]["sent"] == int64(1) && rs[0]["failed"] == int64(1) &&
				rs[0]["unknown"] == int64(1) && rs[0]["skipped"] == int64(1) && rs[0]["pending"] == int64(0)
		},
	}
	audits, err := filepath.Glob("audit_*.sql")
	if err != nil || len(audits) == 0 {
		t.Fatalf("audit files: %v %v", audits, err)
	}
	for _, name := range audits {
		check, ok := checks[name]
		if !ok {
			t.Errorf("%s has no check in checkAudits", name)
			continue
		}
		if rs := query(t, pool, name); !check(rs) {
			t.Errorf("%s returned %v", name, rs)
		}
	}

	// A malformed member shows up in the clean-up query.
	if _, err := pool.Exec(context.Background(), `INSERT INTO recipient_list_members (list_id, wc_id)
		SELECT id, 'wxid_x1 ' FROM recipient_lists WHERE name = 'vip'`); err != nil {
		t.Fatal(err)
	}
	rs := query(t, pool, "audit_bad_recipients.sql")
	if len(rs) != 1 || rs[0]["source"] != "list vip" || rs[0]["problem"] != "invalid wcId: leading or trailing whitespace" {
		t.Errorf("audit_bad_recipients.sql returned %v", rs)
	}
}

// TestJSONEscapedRepair checks the repair 01_templates.sql documents for
// content copied out of a JSON request: the provider's own request example,
// stored as copied, is refused, and the documented UPDATE restores the
// applet byte for byte.
func TestJSONEscapedRepair(t *testing.T) {
	pool := dbtest.New(t)
	m := regexp.MustCompile(`(?m)^--\s+(UPDATE applet_templates SET content = .*)\n--\s+WHERE name = '…';$`).
		FindStringSubmatch(read(t, "01_templates.sql"))
	if m == nil {
		t.Fatal("01_templates.sql no longer documents the JSON repair")
	}
	escaped := regexp.MustCompile(`(?s)"content": "(.*)"\s*}\s*$`).FindStringSubmatch(read(t, "../testdata/provider/seed-request.json"))
	if escaped == nil {
		t.Fatal("no content in seed-request.json")
	}
	if _, err := campaign.ExtractAppMsg(escaped[1]); !errors.Is(err, campaign.ErrJSONEscaped) {
		t.Fatalf("the copied request content: %v, want ErrJSONEscaped", err)
	}
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `INSERT INTO applet_templates (name, img_url, content) VALUES ('copied', 'http://a/c.jpg', $1)`, escaped[1]); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, m[1]+" WHERE name = 'copied'"); err != nil {
		t.Fatalf("the documented repair: %v", err)
	}
	content := scalar[string](t, pool, `SELECT content FROM applet_templates WHERE name = 'copied'`)
	if got, err := campaign.ExtractAppMsg(content); err != nil || got != read(t, "../testdata/provider/seed-appmsg.xml") {
		t.Errorf("repaired content does not yield the seed applet (%v)", err)
	}
}
