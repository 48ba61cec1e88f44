package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/broadcaster/broadcaster/db"
	"github.com/broadcaster/broadcaster/internal/dbtest"
	"github.com/broadcaster/broadcaster/sender/sendertest"
)

// checkDB is a migrated database of the test's own, the environment that
// points the binary at it, and a connection to insert rows the way
// operators do.
type checkDB struct {
	t    *testing.T
	env  map[string]string
	conn *pgx.Conn
}

func newCheckDB(t *testing.T, migrate bool) *checkDB {
	t.Helper()
	url := dbtest.NewURL(t)
	env := map[string]string{
		"DATABASE_URL":             url,
		"BROADCASTER_API_BASE_URL": "http://127.0.0.1:1",
		"BROADCASTER_API_TOKEN":    token,
		"BROADCASTER_LOG_FORMAT":   "json",
	}
	if migrate {
		if r := broadcaster(t, env, "migrate"); r.code != 0 {
			t.Fatalf("migrate: %s", r)
		}
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(ctx) })
	return &checkDB{t: t, env: env, conn: conn}
}

// id runs an INSERT … RETURNING id.
func (c *checkDB) id(sql string, args ...any) int64 {
	c.t.Helper()
	var id int64
	if err := c.conn.QueryRow(context.Background(), sql, args...).Scan(&id); err != nil {
		c.t.Fatalf("%s: %v", sql, err)
	}
	return id
}

// exec runs a statement.
func (c *checkDB) exec(sql string, args ...any) {
	c.t.Helper()
	if _, err := c.conn.Exec(context.Background(), sql, args...); err != nil {
		c.t.Fatalf("%s: %v", sql, err)
	}
}

// template inserts a template and returns its id.
func (c *checkDB) template(name, imgURL, content string) int64 {
	c.t.Helper()
	return c.id(`INSERT INTO applet_templates (name, img_url, content) VALUES ($1, $2, $3) RETURNING id`, name, imgURL, content)
}

// campaign inserts a campaign due tomorrow, so nothing sends it meanwhile.
func (c *checkDB) campaign(name string, templateID int64, wID, status string, recipients []string) int64 {
	c.t.Helper()
	if recipients == nil {
		recipients = []string{}
	}
	return c.id(`INSERT INTO campaigns (name, template_id, w_id, recipients, status, start_at)
		VALUES ($1, $2, $3, $4, $5, now() + interval '1 day') RETURNING id`, name, templateID, wID, recipients, status)
}

// findings returns check's output lines that start with kind.
func findings(stdout, kind string) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(stdout), "\n") {
		if strings.HasPrefix(l, kind+": ") {
			out = append(out, l)
		}
	}
	return out
}

func TestCheckClean(t *testing.T) {
	t.Parallel()
	d := newCheckDB(t, true)
	seed := d.template("seed", "http://photocdn.sohu.com/20120323/Img338614056.jpg?u={{wcId}}", "<msg>"+seedAppMsg+"</msg>")
	d.campaign("nightly", seed, "wid-1", "active", []string{"wxid_a", "123@chatroom"})
	d.campaign("later", seed, "wid-1", "paused", []string{"wxid_quiet", "wxid_b"})
	d.campaign("old", seed, "", "completed", nil) // not looked at
	d.exec(`INSERT INTO suppressions (wc_id) VALUES ('wxid_quiet')`)

	r := broadcaster(t, d.env, "check")
	if r.code != 0 {
		t.Fatalf("check: %s", r)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	wantNote := `note: campaign 2 "later": 1 of 2 recipients are suppressed and would be skipped`
	wantOK := fmt.Sprintf("ok: configuration, database (schema version %d), 2 campaigns", db.WantSchemaVersion())
	if len(lines) != 2 || lines[0] != wantNote || lines[1] != wantOK {
		t.Errorf("check printed:\n%s\nwant:\n%s\n%s", r.stdout, wantNote, wantOK)
	}
}

func TestCheckDatabaseProblems(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  func(d *checkDB) map[string]string
		want []string // the problem lines, in order
	}{
		{
			name: "not migrated",
			env:  func(d *checkDB) map[string]string { return d.env },
			want: []string{"problem: database: no broadcaster schema; fix: run `broadcaster migrate`"},
		},
		{
			name: "unreachable",
			env: func(d *checkDB) map[string]string {
				return map[string]string{"DATABASE_URL": "postgres://u:secret@127.0.0.1:1/x?connect_timeout=5",
					"BROADCASTER_API_BASE_URL": "http://127.0.0.1:1"}
			},
			want: []string{
				"problem: config: api.token: is not set; set it in the config file or with BROADCASTER_API_TOKEN",
				"problem: database: cannot reach the database at postgres://u:xxxxx@127.0.0.1:1/x?connect_timeout=5: ",
			},
		},
		{
			name: "no database url",
			env:  func(d *checkDB) map[string]string { return map[string]string{"BROADCASTER_API_TOKEN": "t"} },
			want: []string{
				"problem: config: api.base_url: is not set; set it in the config file or with BROADCASTER_API_BASE_URL",
				"problem: config: database.url: is not set; set it in the config file or with BROADCASTER_DATABASE_URL or DATABASE_URL",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := broadcaster(t, tt.env(newCheckDB(t, false)), "check")
			got := findings(r.stdout, "problem")
			if r.code != 1 || len(got) != len(tt.want) || strings.Contains(r.stdout+r.stderr, "secret") {
				t.Fatalf("check: %s\nwant exit 1 and %d problems", r, len(tt.want))
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(got[i], w) {
					t.Errorf("line %d:\n got %s\nwant %s…", i, got[i], w)
				}
			}
			if !strings.Contains(r.stderr, strconv.Itoa(len(tt.want))+" problem") || strings.Contains(r.stdout, "ok:") {
				t.Errorf("check: %s", r)
			}
		})
	}
}

func TestCheckCampaignProblems(t *testing.T) {
	t.Parallel()
	d := newCheckDB(t, true)
	seed := d.template("seed", "http://photocdn.sohu.com/20120323/Img338614056.jpg", "<msg>"+seedAppMsg+"</msg>")
	escaped := d.template("escaped", "http://a/c.jpg", `<appmsg appid=\"\" sdkver=\"0\">\n\t\t<title>云铺海购</title>\n\t</appmsg>`)
	unknown := d.template("unknown", "http://a/c.jpg", "<msg>\n<appmsg><title>{{name}}</title></appmsg></msg>")
	badImg := d.template("bad img", "cdn.example.com/c.jpg", "<appmsg/>")
	d.campaign("fine", seed, "wid-1", "active", []string{"wxid_a"})
	d.campaign("no account", seed, " ", "active", []string{"wxid_a"})
	d.campaign("json", escaped, "wid-1", "active", []string{"wxid_a"})
	d.campaign("placeholder", unknown, "wid-1", "paused", []string{"wxid_a"})
	d.campaign("image", badImg, "wid-1", "active", []string{"wxid_a"})
	d.id(`INSERT INTO campaigns (name, w_id, recipients) VALUES ('no template', 'wid-1', '{wxid_a}') RETURNING id`)
	d.id(`INSERT INTO campaigns (name, template_id, w_id, list_ids) VALUES ('lists', $1, 'wid-1', '{424242}') RETURNING id`, seed)
	d.campaign("bad ids", seed, "wid-1", "active", []string{"wxid_a", "wxid b", ""})
	fixed := d.campaign("fixed", seed, "wid-1", "invalid", []string{"wxid_a"})
	d.exec(`UPDATE campaigns SET error = 'w_id is empty' WHERE id = $1`, fixed)
	d.campaign("gone", escaped, "", "cancelled", nil)

	env := d.env
	env["BROADCASTER_WORKER_CONCURRENCY"] = "4" // misspelt: workers
	r := broadcaster(t, env, "check")
	if r.code != 1 {
		t.Fatalf("check: %s", r)
	}
	want := []string{
		`problem: campaign 2 "no account": w_id is empty; fix: UPDATE campaigns SET w_id = '<the logged-in account's wId>' WHERE id = 2`,
		`problem: campaign 3 "json": template "escaped": content looks JSON-escaped at line 1, column 15 (\" and \n written out, as in a JSON request body): store the XML itself; to decode it: UPDATE applet_templates SET content = ('"' || content || '"')::json #>> '{}' WHERE …; fix: correct applet_templates.content of template 2 "escaped": the <appmsg> element or the whole callback message, as pasted`,
		`problem: campaign 4 "placeholder": template "unknown": content: unknown placeholder {{name}} at line 2, column 16 (known: {{wcId}}, {{campaignId}}, {{runId}}, {{deliveryId}}, {{date}}); fix: correct the placeholder in template 3 "unknown"`,
		`problem: campaign 5 "image": template "bad img": img_url "cdn.example.com/c.jpg" is not an absolute http(s) URL; fix: set applet_templates.img_url of template 4 "bad img" to the cover's absolute http(s) URL, with known placeholders only`,
		`problem: campaign 6 "no template": template_id is NULL, so the campaign names no template; fix: UPDATE campaigns SET template_id = (SELECT id FROM applet_templates WHERE name = '…') WHERE id = 6`,
		`problem: campaign 7 "lists": list_ids names list 424242, which does not exist; fix: remove it (UPDATE campaigns SET list_ids = array_remove(list_ids, 424242) WHERE id = 7) or create the list; SELECT id, name FROM recipient_lists shows the lists there are`,
		`problem: campaign 7 "lists": no recipients: campaigns.recipients is empty and list_ids names no list with members; fix: add wcIds to campaigns.recipients, or members to a list named in campaigns.list_ids`,
		`problem: campaign 8 "bad ids": 2 of 3 recipients would be skipped for a malformed wcId, e.g. "" (invalid wcId: empty); fix: correct or remove them in campaigns.recipients or recipient_list_members (broadcaster_wcid_problem(wc_id) says what is wrong with each)`,
		`problem: campaign 9 "fixed": marked invalid (w_id is empty) but now valid; fix: UPDATE campaigns SET status = 'active' WHERE id = 9, or 'cancelled' to drop it`,
	}
	got := findings(r.stdout, "problem")
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	warn := "warning: environment: BROADCASTER_WORKER_CONCURRENCY is not a configuration key and is ignored; " +
		"fix: correct its name: BROADCASTER_ + section + _ + key, as in BROADCASTER_WORKERS_CONCURRENCY"
	if w := findings(r.stdout, "warning"); len(w) != 1 || w[0] != warn {
		t.Errorf("warnings: %q, want %q", w, warn)
	}
	if !strings.Contains(r.stderr, "9 problems found") || strings.Contains(r.stdout, "ok:") {
		t.Errorf("check: %s", r)
	}
}

func TestCheckNetwork(t *testing.T) {
	t.Parallel()
	var cover bytes.Buffer
	if err := png.Encode(&cover, image.NewGray(image.Rect(0, 0, 4, 4))); err != nil {
		t.Fatal(err)
	}
	var hits atomic.Int64
	images := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		switch r.URL.Path {
		case "/cover.png":
			w.Header().Set("Content-Type", "image/png")
			_, _ = w.Write(cover.Bytes())
		case "/cover.webp":
			w.Header().Set("Content-Type", "image/webp")
			_, _ = w.Write([]byte("RIFF\x24\x00\x00\x00WEBPVP8 "))
		case "/big.png":
			w.Header().Set("Content-Type", "image/png")
			body := append(cover.Bytes(), make([]byte, 60<<10)...)
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			_, _ = w.Write(body)
		default:
			http.NotFound(w, r)
		}
	}))
	defer images.Close()
	api, err := sendertest.Start(sendertest.Config{Token: token})
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()

	d := newCheckDB(t, true)
	d.env["BROADCASTER_API_BASE_URL"] = api.URL()
	for _, name := range []string{"cover.png", "cover.webp", "big.png", "gone.png"} {
		tmpl := d.template(name, images.URL+"/"+name+"?to={{wcId}}", "<msg>"+seedAppMsg+"</msg>")
		d.campaign(name, tmpl, "wid-1", "active", []string{"wxid_a"})
		d.campaign(name+" again", tmpl, "wid-1", "paused", []string{"wxid_a"})
	}

	r := broadcaster(t, d.env, "check")
	if r.code != 0 || hits.Load() != 0 || api.Stats().Requests != 0 {
		t.Fatalf("check without --network: %d image requests, %d API requests: %s", hits.Load(), api.Stats().Requests, r)
	}

	// The covers are on loopback: refused by default, without a request.
	r = broadcaster(t, d.env, "check", "--network")
	refused := findings(r.stdout, "problem")
	if r.code != 1 || len(refused) != 8 || hits.Load() != 0 {
		t.Fatalf("check --network, covers on loopback: %d image requests, want none: %s", hits.Load(), r)
	}
	for _, p := range refused {
		if !strings.Contains(p, ": cover image cannot be fetched: 127.0.0.1 is not a public address, and private addresses are not allowed; fix: ") {
			t.Errorf("problem %q, want the loopback cover refused", p)
		}
	}

	r = broadcaster(t, d.env, "check", "--network", "--allow-private")
	fix := func(id int, name string) string {
		return `; fix: serve a png or jpeg of at most 50 KB there, or point applet_templates.img_url of template ` +
			strconv.Itoa(id) + ` "` + name + `" at one`
	}
	img := func(name string) string { return images.URL + "/" + name + "?to=wxid_check" }
	want := []string{
		`problem: campaign 3 "cover.webp": img_url ` + img("cover.webp") + `: cover image is not png or jpeg: Content-Type image/webp, content image/webp` + fix(2, "cover.webp"),
		`problem: campaign 4 "cover.webp again": img_url ` + img("cover.webp") + `: cover image is not png or jpeg: Content-Type image/webp, content image/webp` + fix(2, "cover.webp"),
		`problem: campaign 5 "big.png": img_url ` + img("big.png") + `: cover image is larger than 50 KB: ` + strconv.Itoa(cover.Len()+60<<10) + ` bytes, more than 51200` + fix(3, "big.png"),
		`problem: campaign 6 "big.png again": img_url ` + img("big.png") + `: cover image is larger than 50 KB: ` + strconv.Itoa(cover.Len()+60<<10) + ` bytes, more than 51200` + fix(3, "big.png"),
		`problem: campaign 7 "gone.png": img_url ` + img("gone.png") + `: cover image cannot be fetched: HTTP 404 Not Found` + fix(4, "gone.png"),
		`problem: campaign 8 "gone.png again": img_url ` + img("gone.png") + `: cover image cannot be fetched: HTTP 404 Not Found` + fix(4, "gone.png"),
	}
	got := findings(r.stdout, "problem")
	if r.code != 1 || strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("check --network: exit %d, problems:\n%s\nwant:\n%s\n%s", r.code, strings.Join(got, "\n"), strings.Join(want, "\n"), r)
	}
	if hits.Load() != 4 {
		t.Errorf("%d image requests, want one per distinct cover (4)", hits.Load())
	}
	// The API was asked, and nothing was sent.
	st := api.Stats()
	if st.Requests != 2 || st.Sent != 0 || st.Rejected != 2 {
		t.Errorf("API saw %+v; want two requests (one per check), rejected (not sendApplet POSTs)", st)
	}

	// An API base URL that does not answer is a problem of its own.
	d.exec(`UPDATE campaigns SET status = 'cancelled'`)
	d.env["BROADCASTER_API_BASE_URL"] = "http://127.0.0.1:1"
	r = broadcaster(t, d.env, "check", "--network")
	got = findings(r.stdout, "problem")
	if r.code != 1 || len(got) != 1 || !strings.HasPrefix(got[0], "problem: api: nothing answers at http://127.0.0.1:1: API base URL does not answer: ") ||
		!strings.HasSuffix(got[0], "; fix: check api.base_url (BROADCASTER_API_BASE_URL) and that the API is up and reachable from here") {
		t.Errorf("check --network with a dead API: %s", r)
	}
	// And with a live one, a clean database passes.
	d.env["BROADCASTER_API_BASE_URL"] = api.URL()
	r = broadcaster(t, d.env, "check", "--network")
	if r.code != 0 || strings.TrimSpace(r.stdout) != fmt.Sprintf("ok: configuration, database (schema version %d), 0 campaigns, api.base_url answers", db.WantSchemaVersion()) {
		t.Errorf("check --network, clean: %s", r)
	}
}

// TestCheckHostileRows: check reads every row whatever its columns hold,
// and names each campaign the scheduler would mark invalid, on one
// "problem: …; fix: …" line, instead of failing on the first.
func TestCheckHostileRows(t *testing.T) {
	t.Parallel()
	d := newCheckDB(t, true)
	d.exec(`ALTER TABLE campaigns DROP CONSTRAINT campaigns_template_id_fkey`)
	seed := d.template("seed", "http://photocdn.sohu.com/20120323/Img338614056.jpg", "<msg>"+seedAppMsg+"</msg>")
	spoil := func(name, status, set string) {
		t.Helper()
		id := d.campaign(name, seed, "wid-1", status, []string{"wxid_a"})
		d.exec(`UPDATE campaigns SET `+set+` WHERE id = $1`, id)
	}
	spoil("fine", "active", "schedule = 'CRON_TZ=Asia/Shanghai 0 2 * * *', end_at = now() + interval '30 days'")
	spoil("forever", "active", "schedule = '@daily', end_at = 'infinity'")
	spoil("always", "paused", "start_at = '-infinity'")
	spoil("blank", "active", "schedule = '   '")
	spoil("typo", "active", "start_at = '0202-03-01'")
	spoil("spaced", "active", "w_id = E'wid-1\\n'")
	spoil("lookup", "active", "list_ids = ARRAY[NULL]::bigint[]")
	spoil("dangling", "active", "template_id = 999")
	spoil("marked", "invalid", "end_at = '-infinity', error = 'end_at is -infinity: set NULL for no end, or a timestamp'")

	r := broadcaster(t, d.env, "check")
	want := []string{
		`problem: campaign 2 "forever": end_at is infinity; fix: set NULL for no end, or a timestamp`,
		`problem: campaign 3 "always": start_at is -infinity; fix: set a timestamp (now() to start at once)`,
		`problem: campaign 4 "blank": schedule is blank; fix: set NULL for a one-shot campaign, or a cron spec`,
		`problem: campaign 5 "typo": start_at 0202-03-01T00:00:00Z is out of range (years 1970 to 9999); fix: set a timestamp (now() to start at once)`,
		`problem: campaign 6 "spaced": w_id "wid-1\n" has leading or trailing whitespace; fix: UPDATE campaigns SET w_id = '<the logged-in account's wId>' WHERE id = 6`,
		`problem: campaign 7 "lookup": list_ids holds NULL (a list looked up by a name that does not exist?); fix: remove it (UPDATE campaigns SET list_ids = array_remove(list_ids, NULL) WHERE id = 7) and add the list's id; SELECT id, name FROM recipient_lists shows the lists there are`,
		`problem: campaign 8 "dangling": template_id 999 names no template; fix: UPDATE campaigns SET template_id = (SELECT id FROM applet_templates WHERE name = '…') WHERE id = 8`,
		`problem: campaign 9 "marked": end_at is -infinity; fix: set NULL for no end, or a timestamp, then UPDATE campaigns SET status = 'active' WHERE id = 9`,
	}
	got := findings(r.stdout, "problem")
	if r.code != 1 || strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("check: exit %d, problems:\n%s\nwant:\n%s\n%s", r.code, strings.Join(got, "\n"), strings.Join(want, "\n"), r)
	}
}

// check warns, without failing, when the monthly partitions end less than a
// month ahead and when rows wait in the DEFAULT partition; migrate mends
// both, and migrate --status lists the partitions.
func TestCheckWarnsWhenPartitionsRunShort(t *testing.T) {
	t.Parallel()
	d := newCheckDB(t, true)
	d.exec(`SELECT broadcaster_drop_partition(deliveries_partition) FROM broadcaster_partitions
		WHERE kind = 'month' AND range_from > now()`)
	next := d.id(`WITH c AS (INSERT INTO campaigns (name, w_id, status) VALUES ('next', 'wid-1', 'completed') RETURNING id)
		INSERT INTO campaign_runs (campaign_id, scheduled_for, status, created_at)
		SELECT id, now(), 'completed', date_trunc('month', now()) + interval '1 month 1 day' FROM c RETURNING id`)
	d.exec(`INSERT INTO deliveries (run_id, campaign_id, wc_id, status, run_created_at)
		SELECT id, campaign_id, 'wxid_a', 'skipped', created_at FROM campaign_runs WHERE id = $1`, next)

	r := broadcaster(t, d.env, "check")
	warnings := findings(r.stdout, "warning")
	if r.code != 0 || len(warnings) != 2 ||
		!strings.HasPrefix(warnings[0], "warning: partitions: partitions end at ") ||
		!strings.Contains(warnings[0], "less than a month ahead") ||
		!strings.HasPrefix(warnings[1], "warning: partitions: 1 rows wait in the DEFAULT partitions") ||
		!strings.Contains(warnings[1], "fix: run `broadcaster migrate`") {
		t.Fatalf("check: %s\nwant exit 0 and two warnings about partitions", r)
	}

	if r := broadcaster(t, d.env, "migrate"); r.code != 0 {
		t.Fatalf("migrate: %s", r)
	}
	if r := broadcaster(t, d.env, "check"); r.code != 0 || len(findings(r.stdout, "warning")) != 0 {
		t.Errorf("check after migrate: %s\nwant no warning", r)
	}
	status := broadcaster(t, d.env, "migrate", "--status").stdout
	if !lineHas(status, "PARTITION", "KIND", "OPEN RUNS") || !lineHas(status, "deliveries_default", "default", "(0 rows)") ||
		!lineHas(status, "deliveries_p", "month", " to ") {
		t.Errorf("migrate --status does not list the partitions:\n%s", status)
	}
}
