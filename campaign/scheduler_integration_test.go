package campaign_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/broadcaster/broadcaster/campaign"
	"github.com/broadcaster/broadcaster/campaign/campaigntest"
	"github.com/broadcaster/broadcaster/db"
	"github.com/broadcaster/broadcaster/sender/sendertest"
)

const (
	logMissed      = "missed firings skipped, not replayed"
	logStillSendng = "firing skipped: the previous run is still sending"
)

// insertRecurring inserts an active recurring campaign, as an operator would.
func insertRecurring(h *harness, name, schedule string, startAt time.Time, endAt *time.Time, rcpts []string) int64 {
	h.t.Helper()
	tmpl := h.int64(`INSERT INTO applet_templates (name, img_url, content) VALUES ($1, 'https://cdn.example.com/a.jpg', $2) RETURNING id`, name, applet)
	return h.int64(`INSERT INTO campaigns (name, template_id, w_id, recipients, schedule, start_at, end_at)
		VALUES ($1, $2, 'wid-1', $3, $4, $5, $6) RETURNING id`, name, tmpl, rcpts, schedule, startAt, endAt)
}

// createDue runs one CreateDueRuns of s and fails the test on error.
func createDue(h *harness, s *campaign.Scheduler) []campaign.Run {
	h.t.Helper()
	runs, err := s.CreateDueRuns(h.ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	return runs
}

// tick runs one Tick of s and fails the test on error.
func tick(h *harness, s *campaign.Scheduler) {
	h.t.Helper()
	if err := s.Tick(h.ctx); err != nil {
		h.t.Fatal(err)
	}
}

// runOf reads the status and note of campaign id's run for a firing.
func runOf(h *harness, id int64, at time.Time) (status, note string) {
	h.t.Helper()
	if err := h.pool.QueryRow(h.ctx, `SELECT status, coalesce(note, '') FROM campaign_runs WHERE campaign_id = $1 AND scheduled_for = $2`, id, at).
		Scan(&status, &note); err != nil {
		h.t.Fatalf("run of campaign %d at %s: %v", id, at, err)
	}
	return status, note
}

// TestSchedulerFiresRecurringCampaign follows a nightly campaign in
// Shanghai time from a scheduler whose own zone is New York's: catch-up of
// the latest missed firing, one run per firing, a firing skipped while the
// previous run sends, and an outage longer than the grace.
func TestSchedulerFiresRecurringCampaign(t *testing.T) {
	h := newHarness(t, sendertest.Config{})
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	firing := time.Date(2026, 3, 10, 2, 0, 0, 0, shanghai)
	day := 24 * time.Hour
	clock := campaigntest.NewClock(firing.Add(3 * time.Second))
	logs := newLogLines()
	s := campaign.NewScheduler(h.store, clock, zerolog.New(logs), campaign.WithTimezone(ny), campaign.WithMisfireGrace(time.Hour))
	id := insertRecurring(h, "nightly", "CRON_TZ=Asia/Shanghai 0 2 * * *", time.Date(2026, 3, 1, 0, 0, 0, 0, shanghai), nil, recipients("n", 3))

	// First firing: the nine nights since start_at are missed, logged once,
	// and only tonight's is run.
	runs := createDue(h, s)
	if len(runs) != 1 || !runs[0].ScheduledFor.Equal(firing) || runs[0].Total != 3 || runs[0].CampaignID != id {
		t.Fatalf("runs = %+v, want one of 3 deliveries at %s", runs, firing)
	}
	if m := logs.with(logMissed); len(m) != 1 || m[0]["missed"] != 9.0 {
		t.Errorf("missed-firing log lines = %v, want one with missed 9", m)
	}
	if runs := createDue(h, s); len(runs) != 0 {
		t.Fatalf("a second pass created %+v", runs)
	}
	h.drain(nil)

	// The next night fires on time.
	clock.Set(firing.Add(day + 2*time.Second))
	if runs := createDue(h, s); len(runs) != 1 || !runs[0].ScheduledFor.Equal(firing.Add(day)) {
		t.Fatalf("second night: runs = %+v", runs)
	}

	// The night after, that run has not been sent: the firing is skipped,
	// durably, and not created late once the run is done.
	clock.Set(firing.Add(2*day + 2*time.Second))
	if runs := createDue(h, s); len(runs) != 0 {
		t.Fatalf("overlapping firing created %+v", runs)
	}
	if st, note := runOf(h, id, firing.Add(2*day)); st != "cancelled" || note != campaign.NoteStillSending {
		t.Errorf("skipped firing's run = %s %q", st, note)
	}
	if n := len(logs.with(logStillSendng)); n != 1 {
		t.Errorf("%d still-sending log lines, want 1", n)
	}
	h.drain(nil)
	clock.Set(firing.Add(2*day + 10*time.Minute))
	if runs := createDue(h, s); len(runs) != 0 {
		t.Fatalf("skipped firing created late: %+v", runs)
	}

	// Down for three nights, back three hours after the last: nothing is
	// replayed, the latest firing is recorded as missed, logged once.
	clock.Set(firing.Add(5*day + 3*time.Hour))
	for range 2 {
		if runs := createDue(h, s); len(runs) != 0 {
			t.Fatalf("firings older than the grace were run: %+v", runs)
		}
	}
	if st, note := runOf(h, id, firing.Add(5*day)); st != "cancelled" || note != campaign.NoteMissed {
		t.Errorf("missed firing's run = %s %q", st, note)
	}
	if m := logs.with(logMissed); len(m) != 2 || m[1]["missed"] != 3.0 {
		t.Errorf("missed-firing log lines = %v, want a second one with missed 3", m)
	}

	if n := h.int64(`SELECT count(*) FROM campaign_runs WHERE campaign_id = $1`, id); n != 4 {
		t.Errorf("campaign has %d runs, want 4 (two sent, two skipped)", n)
	}
	if n := h.api.Stats().Sent; n != 6 {
		t.Errorf("the API sent %d messages, want 6", n)
	}
	if s := h.str(`SELECT status FROM campaigns WHERE id = $1`, id); s != "active" {
		t.Errorf("campaign = %s, want active", s)
	}
}

// TestSchedulersRaceOnOneFiring runs two schedulers, as two instances would,
// on the same firings at the same moment: each firing gets one run (or one
// skipped-firing row), never two.
func TestSchedulersRaceOnOneFiring(t *testing.T) {
	h := newHarness(t, sendertest.Config{})
	base := time.Now().Truncate(time.Minute).Add(time.Minute)
	clock := &campaigntest.Clock{}
	id := insertRecurring(h, "every minute", "* * * * *", base, nil, recipients("r", 20))
	oneShot := h.campaign("once", applet, recipients("o", 5))
	instances := []*campaign.Scheduler{
		campaign.NewScheduler(db.NewStore(h.pool, "a"), clock, zerolog.Nop()),
		campaign.NewScheduler(db.NewStore(h.pool, "b"), clock, zerolog.Nop()),
	}
	race := func() int {
		var (
			wg    sync.WaitGroup
			start = make(chan struct{})
			runs  [2][]campaign.Run
			errs  [2]error
		)
		for i, s := range instances {
			wg.Go(func() {
				<-start
				runs[i], errs[i] = s.CreateDueRuns(h.ctx)
			})
		}
		close(start)
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		return len(runs[0]) + len(runs[1])
	}

	const rounds = 6
	for round := range rounds {
		clock.Set(base.Add(time.Duration(round)*time.Minute + time.Second))
		want := 1
		if round == 0 {
			want = 2 // and the one-shot campaign
		}
		if n := race(); n != want {
			t.Fatalf("round %d: %d runs created, want %d", round, n, want)
		}
		if round < rounds-1 { // the last run stays pending, for the skip below
			h.exec(`UPDATE deliveries SET status = 'sent' WHERE status = 'pending'`)
		}
	}
	if n := h.int64(`SELECT count(DISTINCT scheduled_for) FROM campaign_runs WHERE campaign_id = $1 AND status = 'pending'`, id); n != rounds {
		t.Errorf("%d runs, want %d", n, rounds)
	}
	if n := h.int64(`SELECT count(*) FROM deliveries WHERE campaign_id = $1`, id); n != rounds*20 {
		t.Errorf("%d deliveries, want %d", n, rounds*20)
	}
	if n := h.int64(`SELECT count(*) FROM campaign_runs WHERE campaign_id = $1`, oneShot); n != 1 {
		t.Errorf("one-shot campaign has %d runs, want 1", n)
	}

	// With the last run left pending, both skip the next firing: one row.
	skipped := base.Add(rounds * time.Minute)
	clock.Set(skipped.Add(time.Second))
	if n := race(); n != 0 {
		t.Fatalf("%d runs created over a run still sending", n)
	}
	if st, note := runOf(h, id, skipped); st != "cancelled" || note != campaign.NoteStillSending {
		t.Errorf("skipped firing's run = %s %q", st, note)
	}
	if n := h.int64(`SELECT count(*) FROM campaign_runs WHERE campaign_id = $1`, id); n != rounds+1 {
		t.Errorf("%d run rows, want %d", n, rounds+1)
	}
}

// TestSchedulerRunCancelsCampaign drives the daemon loop: a woken scheduler
// creates a run and hands it to OnRuns, and a cancelled campaign's pending
// deliveries become skipped and its run cancelled.
func TestSchedulerRunCancelsCampaign(t *testing.T) {
	h := newHarness(t, sendertest.Config{})
	clock := campaigntest.NewClock(time.Now().Add(time.Minute))
	created := make(chan []campaign.Run, 8)
	s := campaign.NewScheduler(h.store, clock, zerolog.Nop(), campaign.WithPollInterval(time.Hour),
		campaign.WithOnRuns(func(runs []campaign.Run) { created <- runs }))
	ctx, cancel := context.WithCancel(h.ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	eventually(t, func() bool { return !s.LastTick().IsZero() }) // the first tick, with nothing to do

	id := h.campaign("cancel me", applet, recipients("c", 5))
	s.Wake() // as the campaigns trigger's notification would
	var runs []campaign.Run
	select {
	case runs = <-created:
	case <-time.After(30 * time.Second):
		t.Fatal("OnRuns not called within 30s of Wake")
	}
	if len(runs) != 1 || runs[0].CampaignID != id || runs[0].Total != 5 {
		t.Fatalf("OnRuns got %+v", runs)
	}

	h.exec(`UPDATE campaigns SET status = 'cancelled' WHERE id = $1`, id)
	s.Wake()
	eventually(t, func() bool {
		return h.str(`SELECT status FROM campaign_runs WHERE id = $1`, runs[0].ID) == "cancelled"
	})
	if got := h.str(`SELECT string_agg(DISTINCT status || ':' || last_error, ',') FROM deliveries WHERE run_id = $1`, runs[0].ID); got != "skipped:cancelled" {
		t.Errorf("deliveries = %s, want all skipped:cancelled", got)
	}
	if st, note := runOf(h, id, runs[0].ScheduledFor); st != "cancelled" || note != "campaign cancelled" {
		t.Errorf("run = %s %q", st, note)
	}
	if n := h.int64(`SELECT count(*) FROM campaign_run_summary WHERE run_id = $1 AND skipped = 5 AND pending = 0 AND finished_at IS NOT NULL`, runs[0].ID); n != 1 {
		t.Errorf("campaign_run_summary does not show the cancelled run as 5 skipped and finished")
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v, want nil", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}

// TestSchedulerRunSurvivesFailingTicks: a tick that fails (here the table
// it needs is gone) is logged, LastTick stays put, and the next tick after
// the database is back succeeds.
func TestSchedulerRunSurvivesFailingTicks(t *testing.T) {
	h := newHarness(t, sendertest.Config{})
	logs := newLogLines()
	s := campaign.NewScheduler(h.store, campaign.SystemClock{}, zerolog.New(logs), campaign.WithPollInterval(time.Hour))
	h.exec(`ALTER TABLE campaign_runs RENAME TO campaign_runs_away`)
	ctx, cancel := context.WithCancel(h.ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	eventually(t, func() bool { return len(logs.with("scheduler tick failed; trying again at the next")) > 0 })
	if !s.LastTick().IsZero() {
		t.Errorf("LastTick = %s after a failed tick, want zero", s.LastTick())
	}

	h.exec(`ALTER TABLE campaign_runs_away RENAME TO campaign_runs`)
	before := time.Now()
	s.Wake()
	eventually(t, func() bool { return !s.LastTick().Before(before) })
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
}

// TestRecurringCampaignCompletesAfterEndAt: a campaign past end_at stays
// active while its last run sends, and completes once that run completes
// and its last firing can no longer be caught up.
func TestRecurringCampaignCompletesAfterEndAt(t *testing.T) {
	h := newHarness(t, sendertest.Config{})
	base := time.Now().Truncate(time.Minute).Add(time.Minute)
	end := base.Add(time.Minute)
	clock := campaigntest.NewClock(end.Add(2 * time.Second))
	var created []campaign.Run
	s := campaign.NewScheduler(h.store, clock, zerolog.Nop(), campaign.WithMisfireGrace(5*time.Minute),
		campaign.WithOnRuns(func(runs []campaign.Run) { created = append(created, runs...) }))
	id := insertRecurring(h, "ending", "* * * * *", base, &end, recipients("e", 4))
	status := func() string { return h.str(`SELECT status FROM campaigns WHERE id = $1`, id) }

	// end_at has just passed; its firing is caught up, not lost.
	tick(h, s)
	if len(created) != 1 || !created[0].ScheduledFor.Equal(end) {
		t.Fatalf("runs = %+v, want the firing at end_at", created)
	}
	if st := status(); st != "active" {
		t.Fatalf("campaign = %s while its last run is pending", st)
	}

	// Long past end_at and the grace, but the run is still sending.
	clock.Set(end.Add(time.Hour))
	tick(h, s)
	if st := status(); st != "active" {
		t.Fatalf("campaign = %s while its last run is pending", st)
	}
	if len(created) != 1 {
		t.Fatalf("a firing after end_at was run: %+v", created[1:])
	}

	h.drain(nil)
	if st, _ := runOf(h, id, end); st != "completed" {
		t.Fatalf("last run = %s after draining", st)
	}
	tick(h, s)
	if st := status(); st != "completed" {
		t.Errorf("campaign = %s after its last run completed, want completed", st)
	}
}

// Many campaigns due at once are created a few at a time: each gets its one
// run with all of its deliveries, and an invalid one among them is marked
// invalid without holding up the others.
func TestSchedulerCreatesManyDueRuns(t *testing.T) {
	h := newHarness(t, sendertest.Config{})
	const n = 25
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = h.campaign("due "+itoa(int64(i)), applet, recipients("r"+itoa(int64(i))+"_", 7))
	}
	bad := h.campaign("bad", "<appmsg>{{nope}}</appmsg>", recipients("b", 3))
	runs := h.createRuns()
	if len(runs) != n {
		t.Fatalf("%d runs created, want %d", len(runs), n)
	}
	seen := map[int64]bool{}
	for _, r := range runs {
		if seen[r.CampaignID] || r.Total != 7 {
			t.Errorf("run %+v: want one run of 7 deliveries per campaign", r)
		}
		seen[r.CampaignID] = true
	}
	for _, id := range ids {
		if n := h.int64(`SELECT count(*) FROM deliveries WHERE campaign_id = $1`, id); n != 7 {
			t.Errorf("campaign %d has %d deliveries, want 7", id, n)
		}
	}
	if st := h.str(`SELECT status FROM campaigns WHERE id = $1`, bad); st != "invalid" {
		t.Errorf("campaign with an unknown placeholder is %s, want invalid", st)
	}
	if more := h.createRuns(); len(more) != 0 {
		t.Errorf("a second pass created %d runs, want none", len(more))
	}
}
