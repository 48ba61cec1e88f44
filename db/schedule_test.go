package db_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/broadcaster/broadcaster/campaign"
)

// recurringCampaign inserts an active campaign on schedule that started a
// week ago, with recipients.
func recurringCampaign(f *fixture, schedule string, recipients ...string) int64 {
	f.t.Helper()
	if recipients == nil {
		recipients = []string{}
	}
	return f.int64(`INSERT INTO campaigns (name, template_id, w_id, recipients, schedule, start_at)
		VALUES ('r', $1, 'w1', $2, $3, now() - interval '7 days') RETURNING id`, f.template(), recipients, schedule)
}

// runAt creates the run of campaign id's firing at.
func runAt(f *fixture, id int64, at time.Time) campaign.Run {
	f.t.Helper()
	r, err := f.store.CreateRun(f.ctx, id, at)
	if err != nil {
		f.t.Fatalf("CreateRun: %v", err)
	}
	return r
}

func TestDueRecurring(t *testing.T) {
	f := newFixture(t)
	t0 := time.Date(2026, 3, 10, 2, 0, 0, 0, time.UTC)

	fresh := recurringCampaign(f, "@daily", "a")

	pending := recurringCampaign(f, "0 2 * * *", "a", "b")
	runAt(f, pending, t0)

	// A completed run, then a later skipped firing: the latest of any
	// status counts.
	done := recurringCampaign(f, "0 2 * * *", "a")
	r := runAt(f, done, t0.Add(-24*time.Hour))
	f.exec(`UPDATE deliveries SET status = 'sent' WHERE run_id = $1`, r.ID)
	f.exec(`UPDATE campaign_runs SET status = 'completed' WHERE id = $1`, r.ID)
	if err := f.store.SkipFiring(f.ctx, done, t0, campaign.NoteMissed); err != nil {
		t.Fatal(err)
	}

	sending := recurringCampaign(f, "0 2 * * *", "a")
	r = runAt(f, sending, t0)
	f.exec(`UPDATE deliveries SET status = 'sending' WHERE run_id = $1`, r.ID)
	f.exec(`UPDATE campaign_runs SET status = 'running' WHERE id = $1`, r.ID)

	// An open run whose deliveries are all final is not sending: it only
	// awaits completion.
	settled := recurringCampaign(f, "0 2 * * *", "a")
	r = runAt(f, settled, t0)
	f.exec(`UPDATE deliveries SET status = 'failed' WHERE run_id = $1`, r.ID)
	f.exec(`UPDATE campaign_runs SET status = 'running' WHERE id = $1`, r.ID)

	noTemplate := f.int64(`INSERT INTO campaigns (name, w_id, recipients, schedule, start_at)
		VALUES ('nt', 'w', '{a}', '@hourly', now() - interval '1 day') RETURNING id`)
	tabs := recurringCampaign(f, "\t", "a") // btrim leaves tabs: recurring, and invalid

	oneShot := f.campaign([]string{"a"})
	blank := recurringCampaign(f, "   ", "a") // spaces only: read as one-shot, for the domain to refuse
	paused := recurringCampaign(f, "@daily", "a")
	f.exec(`UPDATE campaigns SET status = 'paused' WHERE id = $1`, paused)
	later := recurringCampaign(f, "@daily", "a")
	f.exec(`UPDATE campaigns SET start_at = now() + interval '1 hour' WHERE id = $1`, later)
	completed := recurringCampaign(f, "@daily", "a")
	f.exec(`UPDATE campaigns SET status = 'completed' WHERE id = $1`, completed)

	cs, err := f.store.DueRecurring(f.ctx, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	got := map[int64]campaign.RecurringRow{}
	for _, c := range cs {
		got[c.ID] = c
	}
	tests := []struct {
		name    string
		id      int64
		last    time.Time
		sending bool
	}{
		{"fresh", fresh, time.Time{}, false},
		{"pending", pending, t0, true},
		{"done then skipped", done, t0, false},
		{"sending", sending, t0, true},
		{"settled", settled, t0, false},
		{"no template", noTemplate, time.Time{}, false},
		{"tabs", tabs, time.Time{}, false},
	}
	for _, tt := range tests {
		c, ok := got[tt.id]
		if !ok {
			t.Errorf("%s: not due", tt.name)
			continue
		}
		if c.LastFiring.Valid != !tt.last.IsZero() || !c.LastFiring.Time.Equal(tt.last) || c.Sending != tt.sending {
			t.Errorf("%s: last firing %+v, sending %v; want %s, %v", tt.name, c.LastFiring, c.Sending, tt.last, tt.sending)
		}
	}
	if len(got) != len(tests) {
		t.Errorf("due = %d campaigns, want %d (one-shot %d, blank %d, paused %d, later %d, completed %d must not be)",
			len(got), len(tests), oneShot, blank, paused, later, completed)
	}
	if c := got[fresh]; c.Schedule == nil || *c.Schedule != "@daily" || c.Template == nil || c.Template.ImgURL != "https://cdn.example.com/a.jpg" ||
		c.WID != "w1" || c.Status != campaign.StatusActive || c.EndAt.Valid {
		t.Errorf("campaign read wrong: %+v", c)
	}
	if c := got[noTemplate]; c.Template != nil {
		t.Errorf("campaign without template read with one: %+v", c.Template)
	}
}

func TestSkipFiring(t *testing.T) {
	f := newFixture(t)
	id := recurringCampaign(f, "0 2 * * *", "a")
	t0 := time.Date(2026, 3, 10, 2, 0, 0, 0, time.UTC)

	if err := f.store.SkipFiring(f.ctx, id, t0, campaign.NoteStillSending); err != nil {
		t.Fatal(err)
	}
	var status, note string
	var started, finished *time.Time
	err := f.pool.QueryRow(f.ctx, `SELECT status, note, started_at, finished_at FROM campaign_runs WHERE campaign_id = $1 AND scheduled_for = $2`, id, t0).
		Scan(&status, &note, &started, &finished)
	if err != nil {
		t.Fatal(err)
	}
	if status != "cancelled" || note != campaign.NoteStillSending || started != nil || finished == nil {
		t.Errorf("skipped run = %s %q started %v finished %v", status, note, started, finished)
	}
	if n := f.int64(`SELECT count(*) FROM deliveries WHERE campaign_id = $1`, id); n != 0 {
		t.Errorf("a skipped firing has %d deliveries", n)
	}

	// Once across instances, and never over a run.
	if err := f.store.SkipFiring(f.ctx, id, t0, campaign.NoteStillSending); !errors.Is(err, campaign.ErrRunExists) {
		t.Errorf("second SkipFiring error = %v, want ErrRunExists", err)
	}
	if _, err := f.store.CreateRun(f.ctx, id, t0); !errors.Is(err, campaign.ErrRunExists) {
		t.Errorf("CreateRun of a skipped firing error = %v, want ErrRunExists", err)
	}
	t1 := t0.Add(24 * time.Hour)
	run := runAt(f, id, t1)
	if err := f.store.SkipFiring(f.ctx, id, t1, campaign.NoteMissed); !errors.Is(err, campaign.ErrRunExists) {
		t.Errorf("SkipFiring of a created run error = %v, want ErrRunExists", err)
	}
	if s := f.str(`SELECT status FROM campaign_runs WHERE id = $1`, run.ID); s != "pending" {
		t.Errorf("created run became %s", s)
	}
	if err := f.store.SkipFiring(f.ctx, id+1000, t0, campaign.NoteMissed); err == nil || errors.Is(err, campaign.ErrRunExists) {
		t.Errorf("SkipFiring of a missing campaign error = %v, want a database error", err)
	}
}

func TestCompleteEnded(t *testing.T) {
	f := newFixture(t)
	now := f.now()
	t0 := time.Date(2026, 3, 10, 2, 0, 0, 0, time.UTC)
	endAt := func(id int64, ago time.Duration) int64 {
		f.t.Helper()
		f.exec(`UPDATE campaigns SET end_at = $2 WHERE id = $1`, id, now.Add(-ago))
		return id
	}
	runWith := func(id int64, status string) int64 {
		f.t.Helper()
		r := runAt(f, id, t0)
		f.exec(`UPDATE deliveries SET status = 'sent' WHERE run_id = $1`, r.ID)
		f.exec(`UPDATE campaign_runs SET status = $2 WHERE id = $1`, r.ID, status)
		return id
	}

	noRuns := endAt(recurringCampaign(f, "@daily", "a"), time.Hour)
	lastDone := runWith(endAt(recurringCampaign(f, "@daily", "a"), time.Hour), "completed")
	onlySkipped := endAt(recurringCampaign(f, "@daily", "a"), time.Hour)
	if err := f.store.SkipFiring(f.ctx, onlySkipped, t0, campaign.NoteMissed); err != nil {
		t.Fatal(err)
	}
	stillOpen := runWith(endAt(recurringCampaign(f, "@daily", "a"), time.Hour), "running")
	notEnded := endAt(recurringCampaign(f, "@daily", "a"), -time.Hour)
	noEnd := recurringCampaign(f, "@daily", "a")
	withinCutoff := endAt(recurringCampaign(f, "@daily", "a"), 10*time.Minute)
	oneShot := endAt(f.campaign([]string{"a"}), time.Hour)
	paused := endAt(recurringCampaign(f, "@daily", "a"), time.Hour)
	f.exec(`UPDATE campaigns SET status = 'paused' WHERE id = $1`, paused)

	ids, err := f.store.CompleteEnded(f.ctx, now.Add(-30*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(ids)
	if want := []int64{noRuns, lastDone, onlySkipped}; !slices.Equal(ids, want) {
		t.Errorf("completed %v, want %v", ids, want)
	}
	for id, want := range map[int64]string{
		noRuns: "completed", lastDone: "completed", onlySkipped: "completed",
		stillOpen: "active", notEnded: "active", noEnd: "active", withinCutoff: "active", oneShot: "active", paused: "paused",
	} {
		if got := f.str(`SELECT status FROM campaigns WHERE id = $1`, id); got != want {
			t.Errorf("campaign %d is %s, want %s", id, got, want)
		}
	}
	if ids, err := f.store.CompleteEnded(f.ctx, now.Add(-30*time.Minute)); err != nil || len(ids) != 0 {
		t.Errorf("second CompleteEnded = %v, %v; want nothing", ids, err)
	}
}

func TestCancelCampaigns(t *testing.T) {
	f := newFixture(t)
	t0 := time.Date(2026, 3, 10, 2, 0, 0, 0, time.UTC)

	cancelled := recurringCampaign(f, "0 2 * * *", "a", "b", "c", "d")
	earlier := runAt(f, cancelled, t0.Add(-24*time.Hour))
	f.exec(`UPDATE deliveries SET status = 'sent' WHERE run_id = $1`, earlier.ID)
	f.exec(`UPDATE campaign_runs SET status = 'completed' WHERE id = $1`, earlier.ID)
	open := runAt(f, cancelled, t0)
	f.exec(`UPDATE deliveries SET status = 'sent' WHERE run_id = $1 AND wc_id = 'd'`, open.ID)
	inFlight := f.claim(1) // one delivery is being sent when the operator cancels
	if len(inFlight) != 1 {
		t.Fatalf("claimed %d deliveries, want 1", len(inFlight))
	}

	active := recurringCampaign(f, "0 2 * * *", "x")
	activeRun := runAt(f, active, t0)
	paused := recurringCampaign(f, "0 2 * * *", "y")
	pausedRun := runAt(f, paused, t0)
	f.exec(`UPDATE campaigns SET status = 'paused' WHERE id = $1`, paused)

	f.exec(`UPDATE campaigns SET status = 'cancelled' WHERE id = $1`, cancelled)
	deliveries, runs, err := f.store.CancelCampaigns(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if deliveries != 2 || runs != 1 {
		t.Errorf("cancelled %d deliveries and %d runs, want 2 and 1", deliveries, runs)
	}
	var status, note string
	var finished *time.Time
	if err := f.pool.QueryRow(f.ctx, `SELECT status, note, finished_at FROM campaign_runs WHERE id = $1`, open.ID).Scan(&status, &note, &finished); err != nil {
		t.Fatal(err)
	}
	if status != "cancelled" || note != "campaign cancelled" || finished == nil {
		t.Errorf("open run = %s %q finished %v, want cancelled, 'campaign cancelled', finished", status, note, finished)
	}
	if s := f.str(`SELECT status FROM campaign_runs WHERE id = $1`, earlier.ID); s != "completed" {
		t.Errorf("earlier run became %s", s)
	}
	byStatus := f.str(`SELECT string_agg(status || ':' || coalesce(last_error, ''), ',' ORDER BY status) FROM deliveries WHERE run_id = $1`, open.ID)
	if byStatus != "sending:,sent:,skipped:cancelled,skipped:cancelled" {
		t.Errorf("deliveries of the cancelled run = %s", byStatus)
	}
	for _, r := range []campaign.Run{activeRun, pausedRun} {
		if s := f.str(`SELECT status FROM campaign_runs WHERE id = $1`, r.ID); s != "pending" {
			t.Errorf("run %d of another campaign became %s", r.ID, s)
		}
		if s := f.str(`SELECT string_agg(status, ',') FROM deliveries WHERE run_id = $1`, r.ID); s != "pending" {
			t.Errorf("deliveries of run %d became %s", r.ID, s)
		}
	}

	// The delivery in flight is recorded when its send returns; the run
	// stays cancelled rather than completing.
	f.record(campaign.Result{Delivery: inFlight[0], Status: campaign.DeliverySent, Attempt: campaign.Attempt{
		Outcome: campaign.OutcomeSent, StartedAt: t0, Code: "1000", Receipt: &campaign.Receipt{MsgID: 1, NewMsgID: 2},
	}})
	if s := f.str(`SELECT status FROM campaign_runs WHERE id = $1`, open.ID); s != "cancelled" {
		t.Errorf("cancelled run became %s after its last send was recorded", s)
	}
	if deliveries, runs, err := f.store.CancelCampaigns(f.ctx); err != nil || deliveries != 0 || runs != 0 {
		t.Errorf("second CancelCampaigns = %d, %d, %v; want nothing to do", deliveries, runs, err)
	}
}
