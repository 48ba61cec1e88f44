package campaign

import (
	"errors"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the zones below, whatever the machine has installed

	"github.com/robfig/cron/v3"
)

// mustZone loads a time zone or fails the test.
func mustZone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// at parses an RFC 3339 time or fails the test.
func at(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestParseSchedule(t *testing.T) {
	tests := []struct {
		spec    string
		wantErr string // "" when the spec is valid
	}{
		{"0 2 * * *", ""},
		{"  30 2 * * 1-5  ", ""},
		{"*/15 * * * *", ""},
		{"0 9 1,15 * *", ""},
		{"0 9 * jan-mar mon", ""},
		{"@daily", ""},
		{"@midnight", ""},
		{"@hourly", ""},
		{"@weekly", ""},
		{"@monthly", ""},
		{"@yearly", ""},
		{"@annually", ""},
		{"@every 1h", ""},
		{"@every 90s", ""},
		{"@every 1s", ""},
		{"CRON_TZ=Asia/Shanghai 0 2 * * *", ""},
		{"TZ=America/New_York 30 2 * * *", ""},
		{"CRON_TZ=UTC @daily", ""},
		{"CRON_TZ=Asia/Shanghai\t0 2 * * *", ""},
		{"CRON_TZ=Asia/Shanghai   @every 2h", ""},

		{"", ErrBlankSchedule.Error()},
		{"   ", ErrBlankSchedule.Error()},
		{"\t\n", ErrBlankSchedule.Error()},
		{"0 2 * *", "expected exactly 5 fields, found 4"},
		{"0 0 2 * * *", "expected exactly 5 fields, found 6"},
		{"61 * * * *", "above maximum"},
		{"0 24 * * *", "above maximum"},
		{"0 2 0 * *", "below minimum"},
		{"x 2 * * *", "failed to parse int from x"},
		{"5-1 * * * *", "beyond end of range"},
		{"*/0 * * * *", "should be a positive number"},
		{"@often", "unrecognized descriptor"},
		{"@every", "unrecognized descriptor"},
		{"@every soon", "failed to parse duration"},
		{"@every 0s", "at least 1s"},
		{"@every -1h", "at least 1s"},
		{"@every 500ms", "at least 1s"},
		{"0 2 * * * CRON_TZ=UTC", "expected exactly 5 fields"},
		// The prefixes the parser itself panics on.
		{"CRON_TZ=", "must be followed by a space"},
		{"TZ=", "must be followed by a space"},
		{"CRON_TZ=Asia/Shanghai", "must be followed by a space"},
		{"TZ=UTC", "must be followed by a space"},
		{"CRON_TZ=UTC   ", "must be followed by a space"},
		{"CRON_TZ= 0 2 * * *", "names no zone"},
		{"CRON_TZ=UTC CRON_TZ=Asia/Shanghai", "more than one time zone prefix"},
		{"CRON_TZ=Mars/Olympus 0 2 * * *", "provided bad location Mars/Olympus"},
		{"TZ=Asia/Shanghai0 2 * * *", "provided bad location Asia/Shanghai0"},
		{"CRON_TZ=UTC  ", "must be followed by a space"},
		{"CRON_TZ=UTC 0 2 * *", "expected exactly 5 fields, found 4"},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			s, err := ParseSchedule(tt.spec, time.UTC)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("error = %v, want none", err)
				}
				if s.String() != tt.spec {
					t.Errorf("String() = %q, want %q", s.String(), tt.spec)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

// The traps ParseSchedule guards against are real: robfig/cron panics on
// these specs. Should a new version stop panicking, this test says so.
func TestParseScheduleSurvivesParserPanics(t *testing.T) {
	for _, spec := range []string{"CRON_TZ=", "TZ=", "CRON_TZ=Asia/Shanghai", "TZ=UTC"} {
		t.Run(spec, func(t *testing.T) {
			panicked := func() (p bool) {
				defer func() { p = recover() != nil }()
				_, _ = cron.ParseStandard(spec)
				return false
			}()
			if !panicked {
				t.Logf("robfig/cron no longer panics on %q", spec)
			}
			if _, err := ParseSchedule(spec, time.UTC); err == nil {
				t.Fatal("ParseSchedule accepted it")
			}
		})
	}
}

func TestParseScheduleZone(t *testing.T) {
	shanghai, ny := mustZone(t, "Asia/Shanghai"), mustZone(t, "America/New_York")
	tests := []struct {
		spec string
		def  *time.Location
		want *time.Location
	}{
		{"0 2 * * *", ny, ny},
		{"0 2 * * *", nil, time.Local},
		{"CRON_TZ=Asia/Shanghai 0 2 * * *", ny, shanghai},
		{"TZ=Asia/Shanghai @daily", ny, shanghai},
	}
	for _, tt := range tests {
		s, err := ParseSchedule(tt.spec, tt.def)
		if err != nil {
			t.Fatal(err)
		}
		if s.Location().String() != tt.want.String() {
			t.Errorf("%q: location = %s, want %s", tt.spec, s.Location(), tt.want)
		}
	}
}

func TestScheduleNext(t *testing.T) {
	ny, shanghai, lordHowe := mustZone(t, "America/New_York"), mustZone(t, "Asia/Shanghai"), mustZone(t, "Australia/Lord_Howe")
	start := at(t, "2020-01-01T00:00:00Z")
	tests := []struct {
		name  string
		spec  string
		loc   *time.Location
		start time.Time
		after string
		want  []string // the next firings, in UTC
	}{
		{"Shanghai 02:00 nightly", "0 2 * * *", shanghai, start, "2026-03-01T00:00:00Z",
			[]string{"2026-03-01T18:00:00Z", "2026-03-02T18:00:00Z", "2026-03-03T18:00:00Z"}},
		{"CRON_TZ prefix wins over the default zone", "CRON_TZ=Asia/Shanghai 0 2 * * *", ny, start, "2026-03-01T00:00:00Z",
			[]string{"2026-03-01T18:00:00Z", "2026-03-02T18:00:00Z"}},
		{"weekdays", "0 9 * * 1-5", time.UTC, start, "2026-03-06T10:00:00Z", // a Friday
			[]string{"2026-03-09T09:00:00Z", "2026-03-10T09:00:00Z"}},
		{"leap day", "0 0 29 2 *", time.UTC, start, "2026-01-01T00:00:00Z",
			[]string{"2028-02-29T00:00:00Z"}},
		{"strictly after", "0 2 * * *", time.UTC, start, "2026-03-01T02:00:00Z",
			[]string{"2026-03-02T02:00:00Z"}},
		{"@hourly in Shanghai", "@hourly", shanghai, start, "2026-03-01T00:30:00Z",
			[]string{"2026-03-01T01:00:00Z", "2026-03-01T02:00:00Z"}},

		// America/New_York, spring forward: 2026-03-08 02:00 EST → 03:00 EDT.
		{"NY 02:30 daily fires at 03:00 on the spring-forward day", "30 2 * * *", ny, start, "2026-03-07T00:00:00-05:00",
			[]string{"2026-03-07T07:30:00Z", "2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"}},
		{"NY 02:00 and 03:00 fire once in the gap", "0 2,3 * * *", ny, start, "2026-03-08T00:00:00-05:00",
			[]string{"2026-03-08T07:00:00Z", "2026-03-09T06:00:00Z", "2026-03-09T07:00:00Z"}},
		{"NY hourly skips the hour that did not happen", "30 * * * *", ny, start, "2026-03-08T00:00:00-05:00",
			[]string{"2026-03-08T05:30:00Z", "2026-03-08T06:30:00Z", "2026-03-08T07:30:00Z", "2026-03-08T08:30:00Z"}},
		{"NY @daily across spring forward", "@daily", ny, start, "2026-03-07T12:00:00Z",
			[]string{"2026-03-08T05:00:00Z", "2026-03-09T04:00:00Z"}},

		// America/New_York, fall back: 2026-11-01 02:00 EDT → 01:00 EST.
		{"NY 01:30 daily fires once in the repeated hour", "30 1 * * *", ny, start, "2026-10-31T00:00:00-04:00",
			[]string{"2026-10-31T05:30:00Z", "2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"}},
		{"NY every 15 minutes of 01:xx, once", "*/15 1 * * *", ny, start, "2026-11-01T00:00:00-04:00",
			[]string{"2026-11-01T05:00:00Z", "2026-11-01T05:15:00Z", "2026-11-01T05:30:00Z", "2026-11-01T05:45:00Z", "2026-11-02T06:00:00Z"}},
		{"NY hourly fires in both copies of the repeated hour", "30 * * * *", ny, start, "2026-11-01T00:00:00-04:00",
			[]string{"2026-11-01T04:30:00Z", "2026-11-01T05:30:00Z", "2026-11-01T06:30:00Z", "2026-11-01T07:30:00Z"}},
		{"NY @daily across fall back", "@daily", ny, start, "2026-10-31T12:00:00Z",
			[]string{"2026-11-01T04:00:00Z", "2026-11-02T05:00:00Z"}},

		// Australia/Lord_Howe moves its clocks by 30 minutes.
		{"Lord Howe 02:15 in the half-hour gap", "15 2 * * *", lordHowe, start, "2026-10-02T00:00:00Z",
			[]string{"2026-10-02T15:45:00Z", "2026-10-03T15:30:00Z", "2026-10-04T15:15:00Z"}},
		{"Lord Howe 01:45 in the repeated half hour", "45 1 * * *", lordHowe, start, "2026-04-03T12:00:00Z",
			[]string{"2026-04-03T14:45:00Z", "2026-04-04T14:45:00Z", "2026-04-05T15:15:00Z"}},

		{"Lord Howe @daily the day after the clocks go back", "@daily", lordHowe, start, "2026-04-04T00:00:00+11:00",
			[]string{"2026-04-04T13:00:00Z", "2026-04-05T13:30:00Z", "2026-04-06T13:30:00Z"}},
		{"Lord Howe 01:45 the day after the clocks go forward", "45 1 * * *", lordHowe, start, "2026-10-04T00:00:00+10:30",
			[]string{"2026-10-03T15:15:00Z", "2026-10-04T14:45:00Z", "2026-10-05T14:45:00Z"}},

		{"@every is anchored to start_at", "@every 1h", time.UTC, at(t, "2026-03-10T09:17:30Z"), "2026-03-10T10:00:00Z",
			[]string{"2026-03-10T10:17:30Z", "2026-03-10T11:17:30Z"}},
		{"@every fires first at start_at", "@every 1h", time.UTC, at(t, "2026-03-10T09:17:30Z"), "2026-03-10T00:00:00Z",
			[]string{"2026-03-10T09:17:30Z", "2026-03-10T10:17:30Z"}},
		{"@every ignores daylight saving", "@every 12h", ny, at(t, "2026-03-07T12:00:00-05:00"), "2026-03-07T12:00:00-05:00",
			// 00:00 EST, then 13:00 EDT: twelve real hours apart.
			[]string{"2026-03-08T05:00:00Z", "2026-03-08T17:00:00Z", "2026-03-09T05:00:00Z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseSchedule(tt.spec, tt.loc)
			if err != nil {
				t.Fatal(err)
			}
			cur := at(t, tt.after)
			for i, w := range tt.want {
				cur = s.Next(tt.start, cur)
				if !cur.Equal(at(t, w)) {
					t.Fatalf("firing %d = %s, want %s", i, cur.UTC().Format(time.RFC3339), w)
				}
			}
		})
	}
}

// TestScheduleNextOnceADayEverywhere walks two years of firings in zones
// whose clocks change at midnight, by 30 minutes, or in the small hours: a
// daily schedule fires exactly once a day, an hourly one once per real hour,
// and every firing is later than the one before.
func TestScheduleNextOnceADayEverywhere(t *testing.T) {
	from, to := at(t, "2025-01-01T12:00:00Z"), at(t, "2027-01-01T12:00:00Z")
	days := int(to.Sub(from) / (24 * time.Hour))
	for _, zone := range []string{"America/New_York", "America/Havana", "America/Santiago", "Asia/Beirut", "Australia/Lord_Howe", "Europe/London", "Asia/Shanghai"} {
		loc := mustZone(t, zone)
		for spec, perDay := range map[string]int{"@daily": 1, "30 2 * * *": 1, "0 0,23 * * *": 2, "45 1 * * *": 1, "0 * * * *": 24} {
			t.Run(zone+" "+spec, func(t *testing.T) {
				s, err := ParseSchedule(spec, loc)
				if err != nil {
					t.Fatal(err)
				}
				n, cur := 0, from
				for {
					next := s.Next(time.Time{}, cur)
					if !next.After(cur) {
						t.Fatalf("Next(%s) = %s, not later", cur, next)
					}
					if next.After(to) {
						break
					}
					cur = next
					n++
				}
				// An hourly schedule fires at the hour marks the clock
				// shows: 23 or 25 on a day of a one-hour change, which
				// even out over a year; 23 or 24 on a day of a half-hour
				// change (Lord Howe), which do not.
				if want := days * perDay; n < want-2 || n > want+1 || (perDay == 1 && n != want) {
					t.Errorf("%d firings in %d days, want %d", n, days, want)
				}
			})
		}
	}
}

func TestScheduleNextNeverFires(t *testing.T) {
	for _, spec := range []string{"0 0 30 2 *", "0 0 31 4 *"} {
		s, err := ParseSchedule(spec, time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		if n := s.Next(time.Time{}, at(t, "2026-01-01T00:00:00Z")); !n.IsZero() {
			t.Errorf("%q fires at %s", spec, n)
		}
	}
}

func TestSchedulePlan(t *testing.T) {
	ny, shanghai := mustZone(t, "America/New_York"), mustZone(t, "Asia/Shanghai")
	d0 := at(t, "2026-03-10T02:00:00Z") // a firing of "0 2 * * *" in UTC
	day, longAgo := 24*time.Hour, at(t, "2026-01-01T00:00:00Z")
	ptr := func(t time.Time) *time.Time { return &t }
	type want struct {
		fire        time.Time
		missed      int
		atLeast     bool
		first, last time.Time
	}
	tests := []struct {
		name  string
		spec  string
		loc   *time.Location
		now   time.Time
		start time.Time
		end   *time.Time
		last  time.Time
		grace time.Duration
		want  want
	}{
		{name: "on time", spec: "0 2 * * *", now: d0.Add(3 * time.Second), start: longAgo, last: d0.Add(-day), grace: time.Hour,
			want: want{fire: d0}},
		{name: "not yet", spec: "0 2 * * *", now: d0.Add(-time.Hour), start: longAgo, last: d0.Add(-day), grace: time.Hour},
		{name: "already has its run", spec: "0 2 * * *", now: d0.Add(10 * time.Minute), start: longAgo, last: d0, grace: time.Hour},
		{name: "late, within grace", spec: "0 2 * * *", now: d0.Add(59 * time.Minute), start: longAgo, last: d0.Add(-day), grace: time.Hour,
			want: want{fire: d0}},
		{name: "exactly the grace", spec: "0 2 * * *", now: d0.Add(time.Hour), start: longAgo, last: d0.Add(-day), grace: time.Hour,
			want: want{fire: d0}},
		{name: "late, outside grace", spec: "0 2 * * *", now: d0.Add(61 * time.Minute), start: longAgo, last: d0.Add(-day), grace: time.Hour,
			want: want{missed: 1, first: d0, last: d0}},
		{name: "down three days, latest within grace", spec: "0 2 * * *", now: d0.Add(30 * time.Minute), start: longAgo, last: d0.Add(-3 * day), grace: time.Hour,
			want: want{fire: d0, missed: 2, first: d0.Add(-2 * day), last: d0.Add(-day)}},
		{name: "down three days, all outside grace", spec: "0 2 * * *", now: d0.Add(2 * time.Hour), start: longAgo, last: d0.Add(-3 * day), grace: time.Hour,
			want: want{missed: 3, first: d0.Add(-2 * day), last: d0}},
		{name: "never ran, started nine days ago", spec: "0 2 * * *", now: d0.Add(5 * time.Minute), start: at(t, "2026-03-01T00:00:00Z"), grace: time.Hour,
			want: want{fire: d0, missed: 9, first: at(t, "2026-03-01T02:00:00Z"), last: d0.Add(-day)}},
		{name: "start_at in the future", spec: "0 2 * * *", now: d0.Add(5 * time.Minute), start: d0.Add(time.Hour), grace: time.Hour},
		{name: "start_at on a firing counts it", spec: "0 2 * * *", now: d0.Add(time.Second), start: d0, grace: time.Hour,
			want: want{fire: d0}},
		{name: "start_at just after a firing", spec: "0 2 * * *", now: d0.Add(5 * time.Minute), start: d0.Add(time.Second), grace: time.Hour},
		{name: "end_at passed after the last run", spec: "0 2 * * *", now: d0.Add(5 * time.Minute), start: longAgo, end: ptr(d0.Add(-12 * time.Hour)), last: d0.Add(-day), grace: time.Hour},
		{name: "end_at on the firing counts it", spec: "0 2 * * *", now: d0.Add(5 * time.Second), start: longAgo, end: ptr(d0), last: d0.Add(-day), grace: time.Hour,
			want: want{fire: d0}},
		{name: "end_at passed, its last firing still within grace", spec: "0 2 * * *", now: d0.Add(30 * time.Minute), start: longAgo, end: ptr(d0.Add(10 * time.Minute)), last: d0.Add(-day), grace: time.Hour,
			want: want{fire: d0}},
		{name: "end_at before start_at", spec: "0 2 * * *", now: d0.Add(5 * time.Minute), start: d0.Add(-day), end: ptr(d0.Add(-2 * day)), grace: time.Hour},
		{name: "zero grace fires on the dot", spec: "0 2 * * *", now: d0, start: longAgo, last: d0.Add(-day),
			want: want{fire: d0}},
		{name: "hourly, down five hours, grace three", spec: "0 * * * *", now: d0.Add(10 * time.Minute), start: longAgo, last: d0.Add(-5 * time.Hour), grace: 3 * time.Hour,
			want: want{fire: d0, missed: 4, first: d0.Add(-4 * time.Hour), last: d0.Add(-time.Hour)}},
		{name: "@daily", spec: "@daily", now: at(t, "2026-03-10T00:00:30Z"), start: longAgo, last: at(t, "2026-03-09T00:00:00Z"), grace: time.Hour,
			want: want{fire: at(t, "2026-03-10T00:00:00Z")}},
		{name: "@every anchored to start_at", spec: "@every 1h", now: at(t, "2026-03-10T03:20:00Z"), start: at(t, "2026-03-10T00:17:30Z"), grace: time.Hour,
			want: want{fire: at(t, "2026-03-10T03:17:30Z"), missed: 3, first: at(t, "2026-03-10T00:17:30Z"), last: at(t, "2026-03-10T02:17:30Z")}},
		{name: "@every 1s, a day late, counted without iterating", spec: "@every 1s", now: d0.Add(500 * time.Millisecond), start: longAgo, last: d0.Add(-day), grace: time.Hour,
			want: want{fire: d0, missed: maxMissedCount, atLeast: true, first: d0.Add(-day + time.Second), last: d0.Add(-time.Second)}},
		{name: "@every 1s, on time", spec: "@every 1s", now: d0.Add(500 * time.Millisecond), start: longAgo, last: d0.Add(-time.Second), grace: time.Hour,
			want: want{fire: d0}},
		{name: "every minute, a month late", spec: "* * * * *", now: d0.Add(30 * time.Second), start: longAgo, last: d0.Add(-30 * day), grace: time.Hour,
			want: want{fire: d0, missed: maxMissedCount, atLeast: true, first: d0.Add(-30*day + time.Minute), last: d0.Add(-time.Minute)}},
		{name: "every minute, eight minutes late", spec: "* * * * *", now: d0.Add(30 * time.Second), start: longAgo, last: d0.Add(-9 * time.Minute), grace: time.Hour,
			want: want{fire: d0, missed: 8, first: d0.Add(-8 * time.Minute), last: d0.Add(-time.Minute)}},
		{name: "NY 02:30 on the spring-forward day", spec: "30 2 * * *", loc: ny, now: at(t, "2026-03-08T03:00:05-04:00"), start: longAgo, last: at(t, "2026-03-07T02:30:00-05:00"), grace: time.Hour,
			want: want{fire: at(t, "2026-03-08T07:00:00Z")}},
		{name: "NY 01:30 is not fired again in the repeated hour", spec: "30 1 * * *", loc: ny, now: at(t, "2026-11-01T01:30:05-05:00"), start: longAgo, last: at(t, "2026-11-01T01:30:00-04:00"), grace: time.Hour},
		{name: "Shanghai 02:00", spec: "0 2 * * *", loc: shanghai, now: at(t, "2026-03-10T02:00:02+08:00"), start: longAgo, last: at(t, "2026-03-09T02:00:00+08:00"), grace: time.Hour,
			want: want{fire: at(t, "2026-03-09T18:00:00Z")}},
		{name: "Shanghai 02:00 seen from a New York default", spec: "CRON_TZ=Asia/Shanghai 0 2 * * *", loc: ny, now: at(t, "2026-03-09T18:00:02Z"), start: longAgo, last: at(t, "2026-03-08T18:00:00Z"), grace: time.Hour,
			want: want{fire: at(t, "2026-03-09T18:00:00Z")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loc := tt.loc
			if loc == nil {
				loc = time.UTC
			}
			s, err := ParseSchedule(tt.spec, loc)
			if err != nil {
				t.Fatal(err)
			}
			p := s.Plan(tt.now, tt.start, tt.end, tt.last, tt.grace)
			got := want{p.Fire, p.Missed, p.MissedAtLeast, p.FirstMissed, p.LastMissed}
			if !got.fire.Equal(tt.want.fire) || got.missed != tt.want.missed || got.atLeast != tt.want.atLeast ||
				!got.first.Equal(tt.want.first) || !got.last.Equal(tt.want.last) {
				t.Errorf("plan = fire %s, missed %d (at least %v) from %s to %s\n want fire %s, missed %d (at least %v) from %s to %s",
					fmtTime(got.fire), got.missed, got.atLeast, fmtTime(got.first), fmtTime(got.last),
					fmtTime(tt.want.fire), tt.want.missed, tt.want.atLeast, fmtTime(tt.want.first), fmtTime(tt.want.last))
			}
		})
	}
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func TestValidateSchedule(t *testing.T) {
	tmpl := &Template{Name: "t", ImgURL: "https://cdn.example.com/a.jpg", Content: "<appmsg><title>x</title></appmsg>"}
	start := at(t, "2026-03-01T00:00:00Z")
	tests := []struct {
		schedule string
		wantErr  string
	}{
		{"", ""},
		{"   ", "schedule is blank: set NULL for a one-shot campaign, or a cron spec"},
		{"0 2 * * *", ""},
		{"CRON_TZ=Asia/Shanghai @daily", ""},
		{"0 2 * *", `schedule "0 2 * *": expected exactly 5 fields, found 4`},
		{"CRON_TZ=Asia/Shanghai", `schedule "CRON_TZ=Asia/Shanghai": the time zone prefix must be followed by a space`},
		{"CRON_TZ=", `schedule "CRON_TZ=": the time zone prefix`},
		{"@every 0s", "at least 1s"},
		{"\t", "schedule is blank"},
		{"0 0 31 4 *", "never fires"},
	}
	// A campaign built in code may leave start_at zero; @every still fires.
	if _, err := Validate(Campaign{WID: "w", Schedule: "@every 1h", Template: tmpl}); err != nil {
		t.Errorf("@every with a zero start_at: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.schedule, func(t *testing.T) {
			_, err := Validate(Campaign{ID: 1, WID: "w", Schedule: tt.schedule, StartAt: start, Template: tmpl})
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("error = %v, want none", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !IsInvalid(err) {
				t.Fatalf("error = %v, want an invalid error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestParseScheduleBlankIsErrBlankSchedule(t *testing.T) {
	if _, err := ParseSchedule(" ", nil); !errors.Is(err, ErrBlankSchedule) {
		t.Errorf("blank schedule error = %v, want ErrBlankSchedule", err)
	}
}

func BenchmarkSchedulePlan(b *testing.B) {
	now := time.Date(2026, 3, 10, 2, 0, 30, 0, time.UTC)
	for _, bc := range []struct {
		name, spec string
		last       time.Time
	}{
		{"daily on time", "0 2 * * *", now.Add(-24 * time.Hour)},
		{"every minute a year late", "* * * * *", now.AddDate(-1, 0, 0)},
		{"every second a year late", "@every 1s", now.AddDate(-1, 0, 0)},
	} {
		s, err := ParseSchedule(bc.spec, time.UTC)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				s.Plan(now, time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), nil, bc.last, time.Hour)
			}
		})
	}
}
