package campaign

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// rowColumns are the columns an *InvalidError about a row may name.
var rowColumns = []string{
	"start_at", "end_at", "schedule", "w_id", "template_id", "list_ids",
	"applet_templates.content", "applet_templates.img_url", "campaign_runs.scheduled_for",
}

// checkRowErr fails t unless err is an *InvalidError that names one of
// rowColumns, says what is wrong with it and how to fix it, in valid UTF-8
// short enough for a log line.
func checkRowErr(t *testing.T, err error) {
	t.Helper()
	var ie *InvalidError
	if !errors.As(err, &ie) {
		t.Fatalf("error %v (%T) is not an *InvalidError", err, err)
	}
	if !slices.Contains(rowColumns, ie.Column) {
		t.Fatalf("error %q names column %q", err, ie.Column)
	}
	if !strings.Contains(ie.Problem+ie.Fix, ie.Column) || ie.Fix == "" {
		t.Fatalf("error %q does not name its column %s, or has no fix", err, ie.Column)
	}
	if msg := err.Error(); !utf8.ValidString(msg) || utf8.RuneCountInString(msg) > 2*maxProblemRunes {
		t.Fatalf("error of %d runes (valid UTF-8: %v): %.200q", utf8.RuneCountInString(msg), utf8.ValidString(msg), msg)
	}
}

// fuzzTimestamp builds a Timestamp from fuzzed parts: kind picks NULL,
// ±infinity or a finite time of any second an int64 holds.
func fuzzTimestamp(kind uint8, sec int64) Timestamp {
	switch kind % 4 {
	case 0:
		return Timestamp{}
	case 1:
		return Timestamp{Infinity: 1, Valid: true}
	case 2:
		return Timestamp{Infinity: -1, Valid: true}
	}
	return At(time.Unix(sec, 0).UTC())
}

// FuzzRecurringRow feeds the scheduler's row handling any values the columns
// can hold: schedules of any text, w_ids of any text, timestamps that are
// NULL, infinite, or any instant at all, missing lists. Whatever it gets,
// reading the row, validating it and deciding its firing at any moment
// must not panic or hang, and must end in a decision or in an
// *InvalidError naming the column (checkRowErr). A decision fires within
// the campaign's bounds: not before start_at, not after now or end_at.
//
// Run it with:
//
//	go test ./campaign -run '^$' -fuzz FuzzRecurringRow -fuzztime 60s
func FuzzRecurringRow(f *testing.F) {
	now := time.Date(2026, 3, 10, 2, 0, 0, 0, time.UTC).Unix()
	day := int64(24 * 60 * 60)
	add := func(schedule string, null bool, wid string, startKind uint8, start int64, endKind uint8, end int64, lastKind uint8, last int64, missing int64, nullList bool, at int64) {
		f.Add(schedule, null, wid, startKind, start, endKind, end, lastKind, last, missing, nullList, at)
	}
	add("0 2 * * *", false, "wid-1", 3, now-30*day, 0, 0, 0, 0, 0, false, now)
	add("@every 1h", false, "wid-1", 3, now-day, 3, now+day, 3, now-3600, 0, false, now+1)
	add("CRON_TZ=Asia/Shanghai 30 2 * * *", false, "wid-1", 3, now-400*day, 3, now, 3, now-day, 0, false, now)
	add("", true, "wid-1", 3, now, 0, 0, 0, 0, 0, false, now)
	add("   ", false, "wid-1", 3, now, 0, 0, 0, 0, 0, false, now)
	add("\t", false, "wid-1", 3, now, 1, 0, 0, 0, 0, false, now)
	add("0 2 * * *", false, "wid-1", 2, 0, 1, 0, 0, 0, 0, false, now)
	add("@daily", false, "wid-1", 3, -62135596800, 3, 253402300800, 1, 0, 0, false, now)
	add("@every 1s", false, "wid-1", 3, 0, 0, 0, 0, 0, 0, false, 253402300799)
	add("0 0 29 2 *", false, " wid\x01", 3, now, 0, 0, 0, 0, 42, false, now)
	add("TZ= 0 2 * * *", false, strings.Repeat("w", 200), 3, now, 0, 0, 0, 0, 0, true, now)
	add("CRON_TZ=../../etc/passwd 0 2 * * *", false, "wid 1", 3, now, 0, 0, 0, 0, 0, false, now)
	add("@every 2562047h47m16s", false, "wid-1", 3, now-day, 0, 0, 0, 0, 0, false, now)
	add("* * * * *", false, "wid-1", 3, 0, 0, 0, 3, 1<<40, 0, false, now)
	add("* * * * *", false, "wid-1", 3, 0, 0, 0, 0, 0, 0, false, 253402300799)
	add("* * 29 2 *", false, "wid-1", 3, 0, 0, 0, 0, 0, 0, false, 253402300799)
	add("@every 1s", false, "wid-1", 3, 0, 3, 253402300799, 3, 60, 0, false, 253402300799)
	tmpl := &Template{ID: 1, Name: "t", ImgURL: "https://cdn.example.com/c.jpg", Content: "<appmsg/>"}
	f.Fuzz(func(t *testing.T, schedule string, null bool, wid string, startKind uint8, start int64, endKind uint8, end int64,
		lastKind uint8, last int64, missing int64, nullList bool, at int64) {
		tid := int64(1)
		row := RecurringRow{
			CampaignRow: CampaignRow{
				ID: 7, Name: "fuzz", WID: wid, Schedule: &schedule, Status: StatusActive,
				StartAt: fuzzTimestamp(startKind, start), EndAt: fuzzTimestamp(endKind, end),
				TemplateID: &tid, Template: tmpl, NullListID: nullList,
			},
			LastFiring: fuzzTimestamp(lastKind, last),
		}
		if null {
			row.Schedule = nil
		}
		if missing != 0 {
			row.MissingLists = []int64{missing}
		}
		rc, err := row.Recurring()
		if err != nil {
			checkRowErr(t, err)
			return
		}
		if _, err := Validate(rc.Campaign); err != nil {
			checkRowErr(t, err)
			return
		}
		if rc.Schedule == "" {
			return // one-shot: fired at start_at, nothing to decide
		}
		nowT := time.Unix(at, 0).UTC()
		d, err := decide(rc, nowT, time.UTC, time.Hour)
		if err != nil {
			checkRowErr(t, err)
			return
		}
		if d.action == actNone {
			return
		}
		if d.at.Before(rc.StartAt) || d.at.After(nowT) || (rc.EndAt != nil && d.at.After(*rc.EndAt)) {
			t.Fatalf("decision %v at %s outside start %s, now %s, end %v", d.action, d.at, rc.StartAt, nowT, rc.EndAt)
		}
	})
}
