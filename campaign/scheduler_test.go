package campaign

import (
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// TestDecideRecurring covers what the scheduler does with one recurring
// campaign at a tick: decide is pure, so the clock is a parameter.
func TestDecideRecurring(t *testing.T) {
	d0 := at(t, "2026-03-10T02:00:00Z")
	day := 24 * time.Hour
	rc := func(schedule string, last time.Time, sending bool) RecurringCampaign {
		return RecurringCampaign{
			Campaign:   Campaign{ID: 7, Name: "nightly", WID: "w", Schedule: schedule, StartAt: at(t, "2026-01-01T00:00:00Z"), Status: StatusActive},
			LastFiring: last,
			Sending:    sending,
		}
	}
	tests := []struct {
		name       string
		campaign   RecurringCampaign
		now        time.Time
		wantAction action
		wantAt     time.Time
		wantNote   string
		wantErr    string
	}{
		{"due: create the run", rc("0 2 * * *", d0.Add(-day), false), d0.Add(2 * time.Second), actCreate, d0, "", ""},
		{"due while the previous run is sending: skip", rc("0 2 * * *", d0.Add(-day), true), d0.Add(2 * time.Second), actSkip, d0, NoteStillSending, ""},
		{"nothing due while sending: nothing", rc("0 2 * * *", d0, true), d0.Add(time.Hour), actNone, time.Time{}, "", ""},
		{"nothing due", rc("0 2 * * *", d0, false), d0.Add(time.Hour), actNone, time.Time{}, "", ""},
		{"missed beyond grace: record the latest as skipped", rc("0 2 * * *", d0.Add(-3*day), false), d0.Add(3 * time.Hour), actSkip, d0, NoteMissed, ""},
		{"missed beyond grace while sending: still recorded as missed", rc("0 2 * * *", d0.Add(-3*day), true), d0.Add(3 * time.Hour), actSkip, d0, NoteMissed, ""},
		{"caught up after an outage", rc("0 2 * * *", d0.Add(-3*day), false), d0.Add(30 * time.Minute), actCreate, d0, "", ""},
		{"bad spec", rc("0 2 * *", time.Time{}, false), d0, actNone, time.Time{}, "", `schedule "0 2 * *": expected exactly 5 fields`},
		{"prefix the parser panics on", rc("CRON_TZ=Asia/Shanghai", time.Time{}, false), d0, actNone, time.Time{}, "", "must be followed by a space"},
		{"empty zone", rc("CRON_TZ= @daily", time.Time{}, false), d0, actNone, time.Time{}, "", "names no zone"},
		{"never fires", rc("0 0 30 2 *", time.Time{}, false), d0, actNone, time.Time{}, "", "never fires"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := decide(tt.campaign, tt.now, time.UTC, time.Hour)
			if tt.wantErr != "" {
				if err == nil || !IsInvalid(err) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want an invalid error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d.action != tt.wantAction || !d.at.Equal(tt.wantAt) || d.note != tt.wantNote {
				t.Errorf("decision = %v at %s note %q, want %v at %s note %q",
					d.action, fmtTime(d.at), d.note, tt.wantAction, fmtTime(tt.wantAt), tt.wantNote)
			}
		})
	}
}

// TestSchedulerGraceFloor: a grace below two poll intervals would call a
// firing caught at the next poll missed.
func TestSchedulerGraceFloor(t *testing.T) {
	tests := []struct {
		grace, poll, want time.Duration
	}{
		{time.Hour, 5 * time.Second, time.Hour},
		{0, 5 * time.Second, 10 * time.Second},
		{-time.Minute, time.Second, 2 * time.Second},
	}
	for _, tt := range tests {
		s := NewScheduler(nil, SystemClock{}, zerolog.Nop(), WithMisfireGrace(tt.grace), WithPollInterval(tt.poll))
		if got := s.misfireGrace(); got != tt.want {
			t.Errorf("grace %s, poll %s: in effect %s, want %s", tt.grace, tt.poll, got, tt.want)
		}
	}
}
