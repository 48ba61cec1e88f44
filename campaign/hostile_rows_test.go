package campaign_test

import (
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/broadcaster/broadcaster/campaign"
	"github.com/broadcaster/broadcaster/sender/sendertest"
)

// hostileRow is a campaign with one value an operator could write that
// the scheduler cannot use, and the column its error must name.
type hostileRow struct {
	name      string
	recurring bool   // a recurring campaign firing now rather than a one-shot one
	set       string // the SET clause that spoils a good campaign
	column    string // what campaigns.error must name
}

// hostileRows holds one row per kind of value a column can hold and the
// scheduler cannot use: every one must make only its own campaign invalid.
var hostileRows = []hostileRow{
	{"one-shot ending at infinity", false, "end_at = 'infinity'", "end_at"},
	{"recurring ending at infinity", true, "end_at = 'infinity'", "end_at"},
	{"recurring ending at -infinity", true, "end_at = '-infinity'", "end_at"},
	{"ending in year 294276", true, "end_at = '294276-12-31'", "end_at"},
	{"one-shot starting at -infinity", false, "start_at = '-infinity'", "start_at"},
	{"recurring starting at -infinity", true, "start_at = '-infinity'", "start_at"},
	{"one-shot starting at infinity", false, "start_at = 'infinity'", "start_at"},
	{"recurring starting at infinity", true, "start_at = 'infinity'", "start_at"},
	{"starting in year 1", false, "start_at = '0001-01-01'", "start_at"},
	{"starting before Christ", true, "start_at = '4713-01-01 BC'", "start_at"},
	{"empty schedule", false, "schedule = ''", "schedule"},
	{"schedule of spaces", false, "schedule = '   '", "schedule"},
	{"schedule of a tab", false, "schedule = E'\\t'", "schedule"},
	{"schedule of newlines", false, "schedule = E'\\n\\r\\n'", "schedule"},
	{"schedule that is not cron", false, "schedule = 'every day at 2'", "schedule"},
	{"schedule with a control character", false, "schedule = E'0 2 * * *\\x01'", "schedule"},
	{"schedule of a megabyte", false, "schedule = repeat('* ', 500000)", "schedule"},
	{"schedule that never fires", false, "schedule = '0 0 30 2 *'", "schedule"},
	{"schedule in an unknown zone", false, "schedule = 'CRON_TZ=Mars/Olympus 0 2 * * *'", "schedule"},
	{"empty w_id", false, "w_id = ''", "w_id"},
	{"w_id of spaces", true, "w_id = '   '", "w_id"},
	{"w_id with a leading space", false, "w_id = ' wid-1'", "w_id"},
	{"w_id with a space inside", false, "w_id = 'wid 1'", "w_id"},
	{"w_id with a control character", false, "w_id = E'wid\\x01'", "w_id"},
	{"w_id with a newline", true, "w_id = E'wid-1\\n'", "w_id"},
	{"w_id of 129 characters", false, "w_id = repeat('w', 129)", "w_id"},
	{"w_id as long as its index allows", false, "w_id = (SELECT string_agg(md5(i::text), '') FROM generate_series(1, 80) i)", "w_id"},
	{"w_id NULL", false, "w_id = NULL", "w_id"},
	{"template_id NULL", false, "template_id = NULL", "template_id"},
	{"template_id dangling", true, "template_id = 999999", "template_id"},
	{"list_ids naming a missing list", false, "list_ids = '{999999}'", "list_ids"},
	{"list_ids holding NULL", true, "list_ids = ARRAY[NULL]::bigint[]", "list_ids"},
	{"list_ids of two dimensions", false, "list_ids = '{{999998,999999},{999997,999996}}'", "list_ids"},
	{"recipient too long to index", false,
		"recipients = ARRAY['wxid_a', (SELECT string_agg(md5(i::text), '') FROM generate_series(1, 100) i)]", "recipients"},
	{"template that is not XML", false, "template_id = (SELECT id FROM applet_templates WHERE name = 'not xml')", "applet_templates.content"},
	{"template with a relative cover", true, "template_id = (SELECT id FROM applet_templates WHERE name = 'relative cover')", "applet_templates.img_url"},
	{"run scheduled at infinity", true, "name = 'run scheduled at infinity'", "campaign_runs.scheduled_for"},
}

// TestHostileRowsStallNothing puts one hostile row of each kind beside good
// campaigns, one-shot and recurring, and runs one scheduler tick: the good
// campaigns get their runs, the tick succeeds (so /healthz stays green),
// and every hostile campaign is invalid with an error naming its column.
func TestHostileRowsStallNothing(t *testing.T) {
	h := newHarness(t, sendertest.Config{})
	// What only an operator with DDL rights can write: a NULL w_id, and a
	// template_id naming no template.
	h.exec(`ALTER TABLE campaigns ALTER COLUMN w_id DROP NOT NULL`)
	h.exec(`ALTER TABLE campaigns DROP CONSTRAINT campaigns_template_id_fkey`)
	tmpl := h.int64(`INSERT INTO applet_templates (name, img_url, content) VALUES ('good', 'https://cdn.example.com/a.jpg', $1) RETURNING id`, applet)
	h.exec(`INSERT INTO applet_templates (name, img_url, content) VALUES ('not xml', 'https://cdn.example.com/a.jpg', 'hello <appmsg')`)
	h.exec(`INSERT INTO applet_templates (name, img_url, content) VALUES ('relative cover', 'cdn.example.com/a.jpg', $1)`, applet)
	insert := func(name string, recurring bool) int64 {
		t.Helper()
		var schedule *string
		if recurring {
			s := "@every 1h" // fires at start_at, now
			schedule = &s
		}
		return h.int64(`INSERT INTO campaigns (name, template_id, w_id, recipients, schedule, start_at)
			VALUES ($1, $2, 'wid-1', '{wxid_a,wxid_b}', $3, now() - interval '1 second') RETURNING id`, name, tmpl, schedule)
	}
	// Good campaigns before and after the hostile ones.
	goodOneShot := insert("good one-shot", false)
	bad := make([]int64, len(hostileRows))
	for i, r := range hostileRows {
		bad[i] = insert(r.name, r.recurring)
		h.exec(`UPDATE campaigns SET `+r.set+` WHERE id = $1`, bad[i])
		if r.column == "campaign_runs.scheduled_for" {
			h.exec(`INSERT INTO campaign_runs (campaign_id, scheduled_for, status) VALUES ($1, 'infinity', 'completed')`, bad[i])
		}
	}
	// A recurring campaign that fires now, and a one-shot one whose name is
	// hostile but harmless: a name is only a label.
	goodRecurring := h.int64(`INSERT INTO campaigns (name, template_id, w_id, recipients, schedule, start_at)
		VALUES ('good recurring', $1, 'wid-1', '{wxid_a}', '@every 1h', now() - interval '1 minute') RETURNING id`, tmpl)
	oddName := h.int64(`INSERT INTO campaigns (name, template_id, w_id, recipients, start_at)
		VALUES (E'odd\x01\n' || repeat('n', 100000), $1, 'wid-1', '{wxid_a}', now() - interval '1 second') RETURNING id`, tmpl)

	logs := newLogLines()
	var created []campaign.Run
	s := campaign.NewScheduler(h.store, campaign.SystemClock{}, zerolog.New(logs),
		campaign.WithOnRuns(func(runs []campaign.Run) { created = append(created, runs...) }))
	if err := s.Tick(h.ctx); err != nil {
		t.Fatalf("tick failed, so every campaign waits and /healthz turns 503: %v", err)
	}
	if s.LastTick().IsZero() {
		t.Error("the tick did not count as successful")
	}
	got := map[int64]bool{}
	for _, r := range created {
		got[r.CampaignID] = true
	}
	for name, id := range map[string]int64{"good one-shot": goodOneShot, "good recurring": goodRecurring, "odd name": oddName} {
		if !got[id] {
			t.Errorf("%s (campaign %d) got no run; runs: %+v", name, id, created)
		}
	}
	if len(created) != 3 {
		t.Errorf("%d runs created, want 3: %+v", len(created), created)
	}
	for i, r := range hostileRows {
		var status, msg string
		if err := h.pool.QueryRow(h.ctx, `SELECT status, coalesce(error, '') FROM campaigns WHERE id = $1`, bad[i]).Scan(&status, &msg); err != nil {
			t.Fatal(err)
		}
		if status != "invalid" || !strings.Contains(msg, r.column) || len(msg) > 2000 {
			t.Errorf("%s: %s %.300q; want invalid, naming %s, in under 2000 bytes", r.name, status, msg, r.column)
		}
	}
	// A second tick finds nothing to do and still succeeds.
	created = nil
	if err := s.Tick(h.ctx); err != nil || len(created) != 0 {
		t.Errorf("second tick: %v, runs %+v", err, created)
	}
	for _, l := range logs.with("campaign is invalid; marked invalid") {
		if n, _ := l["campaign"].(string); len(n) > 1000 {
			t.Errorf("log line carries a campaign name of %d bytes", len(n))
		}
	}
}
