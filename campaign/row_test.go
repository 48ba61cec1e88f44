package campaign

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// TestCampaignRow covers what a row may hold and a Campaign may not: each
// case is one column spoilt, and the error must name it with a fix.
func TestCampaignRow(t *testing.T) {
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	tid := int64(3)
	tmpl := &Template{ID: 3, Name: "t", ImgURL: "https://cdn.example.com/c.jpg", Content: "<appmsg/>"}
	str := func(s string) *string { return &s }
	good := func() RecurringRow {
		return RecurringRow{CampaignRow: CampaignRow{
			ID: 7, Name: "n", WID: "wid-1", Schedule: str("@daily"), StartAt: At(start), Status: StatusActive,
			TemplateID: &tid, Template: tmpl,
		}}
	}
	tests := []struct {
		name   string
		spoil  func(r *RecurringRow)
		column string
		want   string // the whole error text
	}{
		{"valid", func(*RecurringRow) {}, "", ""},
		{"valid one-shot", func(r *RecurringRow) { r.Schedule = nil }, "", ""},
		{"valid end", func(r *RecurringRow) { r.EndAt = At(start.AddDate(1, 0, 0)) }, "", ""},
		{"end_at infinity", func(r *RecurringRow) { r.EndAt = Timestamp{Infinity: 1, Valid: true} },
			"end_at", "end_at is infinity: set NULL for no end, or a timestamp"},
		{"end_at -infinity", func(r *RecurringRow) { r.EndAt = Timestamp{Infinity: -1, Valid: true} },
			"end_at", "end_at is -infinity: set NULL for no end, or a timestamp"},
		{"end_at past 9999", func(r *RecurringRow) { r.EndAt = At(time.Date(294276, 12, 31, 0, 0, 0, 0, time.UTC)) },
			"end_at", "end_at 294276-12-31T00:00:00Z is out of range (years 1970 to 9999): set NULL for no end, or a timestamp"},
		{"start_at -infinity", func(r *RecurringRow) { r.StartAt = Timestamp{Infinity: -1, Valid: true} },
			"start_at", "start_at is -infinity: set a timestamp (now() to start at once)"},
		{"start_at infinity", func(r *RecurringRow) { r.StartAt = Timestamp{Infinity: 1, Valid: true} },
			"start_at", "start_at is infinity: set a timestamp (now() to start at once)"},
		{"start_at NULL", func(r *RecurringRow) { r.StartAt = Timestamp{} },
			"start_at", "start_at is NULL: set a timestamp (now() to start at once)"},
		{"start_at in year 1", func(r *RecurringRow) { r.StartAt = At(time.Time{}) },
			"start_at", "start_at 0001-01-01T00:00:00Z is out of range (years 1970 to 9999): set a timestamp (now() to start at once)"},
		{"schedule empty", func(r *RecurringRow) { r.Schedule = str("") },
			"schedule", "schedule is blank: set NULL for a one-shot campaign, or a cron spec"},
		{"schedule blank", func(r *RecurringRow) { r.Schedule = str(" \t\r\n ") },
			"schedule", "schedule is blank: set NULL for a one-shot campaign, or a cron spec"},
		{"missing list", func(r *RecurringRow) { r.MissingLists = []int64{42} },
			"list_ids", "list_ids names list 42, which does not exist: remove it (UPDATE campaigns SET list_ids = array_remove(list_ids, 42) WHERE id = 7) or create the list; SELECT id, name FROM recipient_lists shows the lists there are"},
		{"missing lists", func(r *RecurringRow) { r.MissingLists = []int64{42, 43} },
			"list_ids", "list_ids names lists 42, 43, which do not exist: remove it (UPDATE campaigns SET list_ids = array_remove(list_ids, 42) WHERE id = 7) or create the list; SELECT id, name FROM recipient_lists shows the lists there are"},
		{"NULL list", func(r *RecurringRow) { r.NullListID = true },
			"list_ids", "list_ids holds NULL (a list looked up by a name that does not exist?): remove it (UPDATE campaigns SET list_ids = array_remove(list_ids, NULL) WHERE id = 7) and add the list's id; SELECT id, name FROM recipient_lists shows the lists there are"},
		{"template_id NULL", func(r *RecurringRow) { r.TemplateID, r.Template = nil, nil },
			"template_id", "template_id is NULL, so the campaign names no template: UPDATE campaigns SET template_id = (SELECT id FROM applet_templates WHERE name = '…') WHERE id = 7"},
		{"template_id dangling", func(r *RecurringRow) { r.Template = nil },
			"template_id", "template_id 3 names no template: UPDATE campaigns SET template_id = (SELECT id FROM applet_templates WHERE name = '…') WHERE id = 7"},
		{"last firing infinity", func(r *RecurringRow) { r.LastFiring = Timestamp{Infinity: 1, Valid: true} },
			"campaign_runs.scheduled_for", "campaign_runs.scheduled_for is infinity: delete that run (DELETE FROM campaign_runs WHERE campaign_id = 7 AND scheduled_for = (SELECT max(scheduled_for) FROM campaign_runs WHERE campaign_id = 7))"},
		{"the first problem is reported", func(r *RecurringRow) {
			r.StartAt, r.Schedule = Timestamp{Infinity: -1, Valid: true}, str("")
		}, "start_at", "start_at is -infinity: set a timestamp (now() to start at once)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := good()
			tt.spoil(&r)
			rc, err := r.Recurring()
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if rc.ID != 7 || !rc.StartAt.Equal(start) || rc.Template != tmpl {
					t.Errorf("campaign read as %+v", rc)
				}
				return
			}
			var ie *InvalidError
			if !errors.As(err, &ie) || ie.Column != tt.column || err.Error() != tt.want {
				t.Fatalf("error = %v (%#v)\nwant %s, naming %s", err, ie, tt.want, tt.column)
			}
		})
	}
}

// TestValidateWID: w_id follows the rules of wcIds (broadcaster_wcid_problem
// in schema.sql).
func TestValidateWID(t *testing.T) {
	tests := []struct{ wid, want string }{
		{"wid-1", ""},
		{"0000016f-78bd-21c8-0001-29c4d004ae46", ""},
		{strings.Repeat("w", MaxWIDRunes), ""},
		{strings.Repeat("云", MaxWIDRunes), ""},
		{"", "w_id is empty"},
		{" \t", "w_id is empty"},
		{" wid", `w_id " wid" has leading or trailing whitespace`},
		{"wid\n", `w_id "wid\n" has leading or trailing whitespace`},
		{"w\x01d", `w_id "w\x01d" contains a control character`},
		{"w\u0085d", `w_id "w\u0085d" contains a control character`},
		{"w id", `w_id "w id" contains whitespace`},
		{"w\u00a0id", `w_id "w\u00a0id" contains whitespace`},
		{strings.Repeat("w", MaxWIDRunes+1), "w_id is longer than 128 characters (129)"},
		{strings.Repeat("w", 1<<20), "w_id is longer than 128 characters (1048576)"},
	}
	for _, tt := range tests {
		err := validateWID(7, tt.wid)
		if tt.want == "" {
			if err != nil {
				t.Errorf("%.40q: %v", tt.wid, err)
			}
			continue
		}
		var ie *InvalidError
		if !errors.As(err, &ie) || ie.Column != "w_id" || ie.Problem != tt.want ||
			ie.Fix != "UPDATE campaigns SET w_id = '<the logged-in account's wId>' WHERE id = 7" {
			t.Errorf("%.40q: %#v, want problem %q", tt.wid, err, tt.want)
		}
	}
}

// TestQuote: a quoted value stays one short line whatever it holds.
func TestQuote(t *testing.T) {
	tests := []struct{ in, want string }{
		{"@daily", `"@daily"`},
		{"a\nb\x00", `"a\nb\x00"`},
		{strings.Repeat("云", 100), `"` + strings.Repeat("云", quoteRunes-1) + `"…`},
		{strings.Repeat("x", 1<<20), `"` + strings.Repeat("x", quoteRunes-1) + `"…`},
	}
	for _, tt := range tests {
		if got := Quote(tt.in); got != tt.want {
			t.Errorf("Quote(%.20q…) = %s, want %s", tt.in, got, tt.want)
		}
	}
	long := invalidColumn("schedule", "fix", "schedule %s", strings.Repeat("x", 1<<20))
	if n := len([]rune(long.(*InvalidError).Problem)); n != maxProblemRunes {
		t.Errorf("a problem of a megabyte kept %d runes, want %d", n, maxProblemRunes)
	}
}

// TestUnderstandTurnsPanicIntoInvalid: a value no rule foresaw, making the
// reading of one row panic, makes that campaign invalid instead of failing
// the tick.
func TestUnderstandTurnsPanicIntoInvalid(t *testing.T) {
	s := NewScheduler(nil, SystemClock{}, zerolog.Nop())
	_, err := understand(s, 7, "x", func() (Campaign, error) { panic("unforeseen") })
	var ie *InvalidError
	if !errors.As(err, &ie) || !strings.Contains(ie.Problem, "panic: unforeseen") || ie.Fix == "" {
		t.Fatalf("error = %#v, want an *InvalidError about the panic", err)
	}
	c, err := understand(s, 9, "", func() (Campaign, error) { return Campaign{ID: 9}, nil })
	if err != nil || c.ID != 9 {
		t.Errorf("understand without a panic = %+v, %v", c, err)
	}
}
