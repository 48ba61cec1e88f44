package db_test

import (
	"context"
	"errors"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/sourcegraph/conc"

	"github.com/broadcaster/broadcaster/campaign"
	"github.com/broadcaster/broadcaster/db"
)

// ended makes a one-shot campaign whose run ended with each recipient in the
// status given (sent, failed, unknown or skipped), as psql could, and
// completes the run and the campaign. It returns the campaign and the run.
func (f *fixture) ended(outcome map[string]campaign.DeliveryStatus) (campaignID int64, run campaign.Run) {
	f.t.Helper()
	var wcs []string
	for wc := range outcome {
		wcs = append(wcs, wc)
	}
	campaignID = f.campaign(wcs)
	run = f.run(campaignID)
	f.finish(run.ID, outcome)
	f.exec(`UPDATE campaigns SET status = 'completed' WHERE id = $1`, campaignID)
	return campaignID, run
}

// finish ends run's deliveries as outcome says and completes the run.
func (f *fixture) finish(runID int64, outcome map[string]campaign.DeliveryStatus) {
	f.t.Helper()
	for wc, s := range outcome {
		f.exec(`UPDATE deliveries SET status = $3 WHERE run_id = $1 AND wc_id = $2 AND status = 'pending'`, runID, wc, string(s))
	}
	f.exec(`UPDATE campaign_runs SET status = 'completed', finished_at = now() WHERE id = $1`, runID)
}

// deliveries returns a run's deliveries: wcId → status and last_error.
func (f *fixture) deliveries(runID int64) map[string]string {
	f.t.Helper()
	rows, err := f.pool.Query(f.ctx, `SELECT wc_id, status || coalesce(' ' || last_error, '') FROM deliveries WHERE run_id = $1`, runID)
	if err != nil {
		f.t.Fatal(err)
	}
	got := map[string]string{}
	for rows.Next() {
		var wc, s string
		if err := rows.Scan(&wc, &s); err != nil {
			f.t.Fatal(err)
		}
		got[wc] = s
	}
	if rows.Err() != nil {
		f.t.Fatal(rows.Err())
	}
	return got
}

var (
	failed  = campaign.DeliveryFailed
	unknown = campaign.DeliveryUnknown
	sent    = campaign.DeliverySent
)

var cliActor = campaign.Actor{Name: "ops", Credential: "cli"}

func TestResendTakesExactlyTheWantedRecipients(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	campaignID, orig := f.ended(map[string]campaign.DeliveryStatus{
		"a": sent, "b": failed, "c": unknown, "d": failed, "e": unknown,
	})
	f.exec(`INSERT INTO suppressions (wc_id, reason) VALUES ('d', 'asked to stop')`)
	now := f.now().Add(time.Hour).Truncate(time.Microsecond)

	res, err := f.store.Resend(f.ctx, campaign.ResendRequest{
		RunID: orig.ID, Statuses: []campaign.DeliveryStatus{unknown, failed, failed}, Actor: cliActor, Now: now,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.NewRunID == 0 || res.CampaignID != campaignID || res.Recipients != 3 || res.Unknown != 2 || res.Skipped != 1 {
		t.Errorf("Resend = %+v, want a new run of campaign %d: 3 recipients, 2 unknown, 1 skipped", res, campaignID)
	}
	want := map[string]string{"b": "pending", "c": "pending", "d": "skipped suppressed: asked to stop", "e": "pending"}
	if got := f.deliveries(res.NewRunID); !maps.Equal(got, want) {
		t.Errorf("new run's deliveries = %v, want %v", got, want)
	}
	var (
		resendOf     int64
		scheduledFor time.Time
		status       string
	)
	if err := f.pool.QueryRow(f.ctx, `SELECT resend_of, scheduled_for, status FROM campaign_runs WHERE id = $1`, res.NewRunID).
		Scan(&resendOf, &scheduledFor, &status); err != nil {
		t.Fatal(err)
	}
	if resendOf != orig.ID || !scheduledFor.Equal(now) || status != "pending" {
		t.Errorf("new run: resend_of %d scheduled_for %v %s; want %d, %v, pending", resendOf, scheduledFor, status, orig.ID, now)
	}

	// The campaign is completed, and its resend is sent all the same, with
	// {{date}} as the original run's; its completion leaves the campaign
	// completed.
	ds := f.claim(10)
	if len(ds) != 3 {
		t.Fatalf("claimed %d deliveries of the resend, want 3", len(ds))
	}
	var results []campaign.Result
	for _, d := range ds {
		if d.RunID != res.NewRunID || !d.ScheduledFor.Equal(orig.ScheduledFor) {
			t.Errorf("claimed %+v: want run %d rendering the date of %v", d, res.NewRunID, orig.ScheduledFor)
		}
		r := campaign.Result{Delivery: d, Status: campaign.DeliverySent, Attempt: campaign.Attempt{HTTPStatus: 200, Code: "1000"}}
		if d.WcID == "b" {
			r = campaign.Result{Delivery: d, Status: campaign.DeliveryUnknown, Attempt: campaign.Attempt{Error: "cut"}, Error: "cut"}
		}
		results = append(results, r)
	}
	if done := f.record(results...); len(done) != 1 || done[0] != res.NewRunID {
		t.Errorf("Record completed %v, want the resend run %d", done, res.NewRunID)
	}
	if s := f.str(`SELECT status FROM campaigns WHERE id = $1`, campaignID); s != "completed" {
		t.Errorf("campaign after its resend = %s, want completed", s)
	}

	// A resend of the resend renders the first run's date.
	again, err := f.store.Resend(f.ctx, campaign.ResendRequest{
		RunID: res.NewRunID, Statuses: []campaign.DeliveryStatus{unknown}, Actor: cliActor, Now: now.Add(time.Minute),
	})
	if err != nil || again.Recipients != 1 || again.Unknown != 1 {
		t.Fatalf("resend of the resend = %+v, %v; want 1 recipient, unknown", again, err)
	}
	if ds := f.claim(10); len(ds) != 1 || ds[0].WcID != "b" || !ds[0].ScheduledFor.Equal(orig.ScheduledFor) {
		t.Errorf("claimed %+v, want b rendering the date of %v", ds, orig.ScheduledFor)
	}
}

func TestResendAuditsAndRefusesRepeats(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	_, orig := f.ended(map[string]campaign.DeliveryStatus{"a": failed, "b": unknown})
	actor := campaign.Actor{Name: "mei", Credential: "console-write", Address: "203.0.113.7"}
	res, err := f.store.Resend(f.ctx, campaign.ResendRequest{
		RunID: orig.ID, Statuses: []campaign.DeliveryStatus{failed}, Actor: actor, Now: f.now(),
	})
	if err != nil || res.Recipients != 1 {
		t.Fatalf("Resend failed ones = %+v, %v", res, err)
	}
	es, err := f.store.AuditLog(f.ctx, 1)
	if err != nil || len(es) != 1 {
		t.Fatalf("AuditLog = %v, %v", es, err)
	}
	e := es[0]
	if e.Who != "mei" || e.Credential != "console-write" || e.Address != "203.0.113.7" ||
		e.Action != campaign.AuditResend || e.Target != campaign.RunTarget(orig.ID) ||
		!strings.Contains(e.Detail, `"new_run": `+itoa(res.NewRunID)) || e.At.IsZero() {
		t.Errorf("audit entry = %+v", e)
	}

	// Asked twice, the same recipients are not taken again…
	_, err = f.store.Resend(f.ctx, campaign.ResendRequest{
		RunID: orig.ID, Statuses: []campaign.DeliveryStatus{failed}, Actor: actor, Now: f.now(),
	})
	var refusal *campaign.RefusedError
	if !errors.As(err, &refusal) || !strings.Contains(refusal.Reason, "run "+itoa(res.NewRunID)) {
		t.Errorf("second resend of the failures: %v, want a refusal naming run %d", err, res.NewRunID)
	}
	// …but the unknown ones, not re-sent yet, may be.
	res2, err := f.store.Resend(f.ctx, campaign.ResendRequest{
		RunID: orig.ID, Statuses: []campaign.DeliveryStatus{failed, unknown}, Actor: actor, Now: f.now(),
	})
	if err != nil || res2.Recipients != 1 || res2.Unknown != 1 {
		t.Errorf("resend of failed and unknown after the failed ones = %+v, %v; want b alone", res2, err)
	}
	if got := f.deliveries(res2.NewRunID); len(got) != 1 || got["b"] != "pending" {
		t.Errorf("second resend's deliveries = %v, want b alone", got)
	}
	if n := f.int64(`SELECT count(*) FROM audit_log WHERE action = 'resend'`); n != 2 {
		t.Errorf("%d resend rows in audit_log, want 2 (a refusal writes none)", n)
	}
}

func TestResendDryRunChangesNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	_, orig := f.ended(map[string]campaign.DeliveryStatus{"a": failed, "b": unknown, "c": sent})
	count := `SELECT (SELECT count(*) FROM campaign_runs) * 1000000 + (SELECT count(*) FROM deliveries) * 1000 + (SELECT count(*) FROM audit_log)`
	before := f.int64(count)
	res, err := f.store.Resend(f.ctx, campaign.ResendRequest{
		RunID: orig.ID, Statuses: campaign.ResendStatuses(), DryRun: true, Actor: cliActor, Now: f.now(),
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.NewRunID != 0 || res.Recipients != 2 || res.Unknown != 1 || res.Skipped != 0 {
		t.Errorf("dry run = %+v, want no run, 2 recipients, 1 unknown", res)
	}
	if after := f.int64(count); after != before {
		t.Errorf("runs·deliveries·audit rows %d after the dry run, %d before", after, before)
	}
	// A dry run of what would be refused is refused too.
	if _, err := f.store.Resend(f.ctx, campaign.ResendRequest{
		RunID: orig.ID + 100, Statuses: campaign.ResendStatuses(), DryRun: true, Now: f.now(),
	}); !errors.Is(err, campaign.ErrNotFound) {
		t.Errorf("dry run of no such run: %v, want ErrNotFound", err)
	}
}

func TestResendRefusals(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	all := campaign.ResendStatuses()
	tests := []struct {
		name     string
		setUp    func(campaignID, runID int64)
		run      func(runID int64) int64
		statuses []campaign.DeliveryStatus
		reason   string
	}{
		{name: "open run", setUp: func(_, r int64) {
			f.exec(`UPDATE campaign_runs SET status = 'running' WHERE id = $1`, r)
		}, reason: "still running"},
		{name: "paused campaign", setUp: func(c, _ int64) {
			f.exec(`UPDATE campaigns SET status = 'active' WHERE id = $1`, c)
			f.exec(`UPDATE campaigns SET status = 'paused' WHERE id = $1`, c)
		}, reason: "is paused"},
		{name: "cancelled campaign", setUp: func(c, _ int64) {
			f.exec(`UPDATE campaigns SET status = 'cancelled' WHERE id = $1`, c)
		}, reason: "is cancelled"},
		{name: "invalid campaign", setUp: func(c, _ int64) {
			f.exec(`UPDATE campaigns SET status = 'invalid', error = 'x' WHERE id = $1`, c)
		}, reason: "is invalid"},
		{name: "nothing matched", statuses: []campaign.DeliveryStatus{unknown}, reason: "no unknown deliveries"},
		{name: "sent ones", statuses: []campaign.DeliveryStatus{sent}, reason: `"sent"`},
		{name: "no status", statuses: []campaign.DeliveryStatus{}, reason: "no status"},
		{name: "no run", run: func(int64) int64 { return 0 }, reason: "no run"},
	}
	for _, tt := range tests {
		campaignID, orig := f.ended(map[string]campaign.DeliveryStatus{"a": failed, "b": sent})
		if tt.setUp != nil {
			tt.setUp(campaignID, orig.ID)
		}
		runID := orig.ID
		if tt.run != nil {
			runID = tt.run(orig.ID)
		}
		statuses := all
		if tt.statuses != nil {
			statuses = tt.statuses
		}
		runs := f.int64(`SELECT count(*) FROM campaign_runs`)
		_, err := f.store.Resend(f.ctx, campaign.ResendRequest{RunID: runID, Statuses: statuses, Actor: cliActor, Now: f.now()})
		var refusal *campaign.RefusedError
		if !errors.As(err, &refusal) || !strings.Contains(refusal.Reason, tt.reason) {
			t.Errorf("%s: Resend = %v, want a refusal saying %q", tt.name, err, tt.reason)
		}
		if n := f.int64(`SELECT count(*) FROM campaign_runs`); n != runs {
			t.Errorf("%s: %d runs after a refusal, %d before", tt.name, n, runs)
		}
	}
	_, err := f.store.Resend(f.ctx, campaign.ResendRequest{RunID: 1 << 40, Statuses: all, Now: f.now()})
	if !errors.Is(err, campaign.ErrNotFound) {
		t.Errorf("Resend of no such run = %v, want ErrNotFound", err)
	}
}

// A resend run sends only while its campaign is active or completed: a
// paused one holds it (claims, what is left to send, templates, progress),
// and a cancelled one skips it.
func TestResendRunFollowsItsCampaign(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	campaignID, orig := f.ended(map[string]campaign.DeliveryStatus{"a": failed})
	res, err := f.store.Resend(f.ctx, campaign.ResendRequest{RunID: orig.ID, Statuses: campaign.ResendStatuses(), Actor: cliActor, Now: f.now()})
	if err != nil {
		t.Fatal(err)
	}
	left := func() (campaign.Outstanding, []campaign.RunTemplate, int64) {
		t.Helper()
		o, err := f.store.Outstanding(f.ctx, campaign.OutstandingParams{})
		if err != nil {
			t.Fatal(err)
		}
		rts, err := f.store.OpenTemplates(f.ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		n, err := f.store.PendingCount(f.ctx)
		if err != nil {
			t.Fatal(err)
		}
		return o, rts, n
	}
	if o, rts, n := left(); o.Pending != 1 || len(rts) != 1 || rts[0].RunID != res.NewRunID || n != 1 {
		t.Errorf("completed campaign with a resend: outstanding %+v, templates %v, pending count %d; want its run", o, rts, n)
	}
	f.exec(`UPDATE campaigns SET status = 'paused' WHERE id = $1`, campaignID)
	if o, rts, n := left(); !o.Done() || len(rts) != 0 || n != 0 {
		t.Errorf("paused campaign: outstanding %+v, templates %v, pending count %d; want nothing", o, rts, n)
	}
	if ds := f.claim(10); len(ds) != 0 {
		t.Errorf("claimed %v from a paused campaign", ds)
	}
	f.exec(`UPDATE campaigns SET status = 'cancelled' WHERE id = $1`, campaignID)
	if d, r, err := f.store.CancelCampaigns(f.ctx); err != nil || d != 1 || r != 1 {
		t.Errorf("CancelCampaigns = %d, %d, %v; want the resend's delivery and run", d, r, err)
	}
}

// A one-shot campaign re-activated after its run is done once its resend is:
// its one firing is closed already.
func TestResendCompletesAnActiveOneShot(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	campaignID, orig := f.ended(map[string]campaign.DeliveryStatus{"a": failed})
	f.exec(`UPDATE campaigns SET status = 'active' WHERE id = $1`, campaignID)
	res, err := f.store.Resend(f.ctx, campaign.ResendRequest{RunID: orig.ID, Statuses: campaign.ResendStatuses(), Actor: cliActor, Now: f.now()})
	if err != nil {
		t.Fatal(err)
	}
	ds := f.claim(10)
	if len(ds) != 1 {
		t.Fatalf("claimed %v, want the resend's delivery", ds)
	}
	f.record(campaign.Result{Delivery: ds[0], Status: campaign.DeliverySent, Attempt: campaign.Attempt{HTTPStatus: 200, Code: "1000"}})
	var runStatus, campStatus string
	if err := f.pool.QueryRow(f.ctx, `SELECT r.status, c.status FROM campaign_runs r JOIN campaigns c ON c.id = r.campaign_id WHERE r.id = $1`,
		res.NewRunID).Scan(&runStatus, &campStatus); err != nil {
		t.Fatal(err)
	}
	if runStatus != "completed" || campStatus != "completed" {
		t.Errorf("after the resend: run %s, campaign %s; want both completed", runStatus, campStatus)
	}
}

// A resend run is no firing: while it sends, a recurring campaign's next
// firing is not skipped as overlapping, nor is its time the latest firing.
func TestResendIsNoFiring(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	id := f.campaign([]string{"a", "b"})
	f.exec(`UPDATE campaigns SET schedule = '@every 1h' WHERE id = $1`, id)
	orig := f.run(id)
	f.finish(orig.ID, map[string]campaign.DeliveryStatus{"a": failed, "b": sent})
	res, err := f.store.Resend(f.ctx, campaign.ResendRequest{RunID: orig.ID, Statuses: campaign.ResendStatuses(),
		Actor: cliActor, Now: orig.ScheduledFor.Add(30 * time.Minute)})
	if err != nil || res.Recipients != 1 {
		t.Fatalf("Resend = %+v, %v", res, err)
	}
	rows, err := f.store.DueRecurring(f.ctx, orig.ScheduledFor.Add(2*time.Hour))
	if err != nil || len(rows) != 1 {
		t.Fatalf("DueRecurring = %v, %v", rows, err)
	}
	if r := rows[0]; r.Sending || !r.LastFiring.Time.Equal(orig.ScheduledFor) {
		t.Errorf("DueRecurring: sending %v, last firing %v; want false and the original run's %v",
			r.Sending, r.LastFiring.Time, orig.ScheduledFor)
	}
}

func TestSetCampaignStatusAudits(t *testing.T) {
	t.Parallel()
	f, url := newFixtureURL(t)
	// One connection, so that the SQL after the API's write runs in the same
	// session: its settings must not leak into the next transaction.
	pool, err := db.Open(f.ctx, url, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	store := db.NewStore(pool, "test:2")
	id := f.campaign([]string{"a"})
	mei := campaign.Actor{Name: "mei", Credential: "console-write", Address: "203.0.113.7"}

	if err := store.SetCampaignStatus(f.ctx, id, campaign.StatusPaused, mei); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(f.ctx, `UPDATE campaigns SET status = 'active' WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	if err := store.SetCampaignStatus(f.ctx, id, campaign.StatusCancelled, campaign.Actor{Name: "li", Credential: "cli"}); err != nil {
		t.Fatal(err)
	}
	var refusal *campaign.RefusedError
	if err := store.SetCampaignStatus(f.ctx, id, campaign.StatusActive, mei); !errors.As(err, &refusal) {
		t.Errorf("resume of a cancelled campaign = %v, want a refusal", err)
	}
	if err := store.SetCampaignStatus(f.ctx, id+100, campaign.StatusPaused, mei); !errors.Is(err, campaign.ErrNotFound) {
		t.Errorf("pause of no such campaign = %v, want ErrNotFound", err)
	}
	es, err := store.AuditLog(f.ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	me := f.str(`SELECT current_user`)
	from := f.str(`SELECT coalesce(host(inet_client_addr()), '')`)
	target := campaign.CampaignTarget(id)
	want := []campaign.AuditEntry{ // newest first
		{Who: "li", Credential: "cli", Action: campaign.AuditCancel, Target: target},
		{Who: me, Credential: "sql", Address: from, Action: campaign.AuditResume, Target: target},
		{Who: "mei", Credential: "console-write", Address: "203.0.113.7", Action: campaign.AuditPause, Target: target},
	}
	if len(es) != len(want) {
		t.Fatalf("audit log = %+v, want %d entries", es, len(want))
	}
	for i, w := range want {
		e := es[i]
		if e.Who != w.Who || e.Credential != w.Credential || e.Address != w.Address || e.Action != w.Action || e.Target != w.Target {
			t.Errorf("entry %d = %+v, want %+v", i, e, w)
		}
	}
	if !strings.Contains(es[1].Detail, `"from": "paused"`) || !strings.Contains(es[1].Detail, `"to": "active"`) {
		t.Errorf("resume's detail = %s, want from paused to active", es[1].Detail)
	}
}

// A resend wakes running daemons at once, as a campaign change does; a dry
// run wakes no one.
func TestResendWakesDaemons(t *testing.T) {
	t.Parallel()
	f, url := newFixtureURL(t)
	campaignID, orig := f.ended(map[string]campaign.DeliveryStatus{"a": failed})
	marker := f.campaign([]string{"m"})
	changes := make(chan campaign.Change, 16)
	l := db.NewListener(url, zerolog.Nop(), func(c campaign.Change) { changes <- c })
	ctx, cancel := context.WithCancel(f.ctx)
	var wg conc.WaitGroup
	wg.Go(func() { _ = l.Run(ctx) })
	defer func() { cancel(); wg.Wait() }()
	next := func() campaign.Change {
		t.Helper()
		select {
		case c := <-changes:
			return c
		case <-time.After(30 * time.Second):
			t.Fatal("no notification within 30s")
			return campaign.Change{}
		}
	}
	if c := next(); c != (campaign.Change{}) {
		t.Fatalf("first change = %+v, want the catch-up signal", c)
	}
	req := campaign.ResendRequest{RunID: orig.ID, Statuses: campaign.ResendStatuses(), DryRun: true, Actor: cliActor, Now: f.now()}
	if _, err := f.store.Resend(f.ctx, req); err != nil {
		t.Fatal(err)
	}
	f.exec(`UPDATE campaigns SET name = 'marker' WHERE id = $1`, marker)
	if c := next(); c.CampaignID != marker {
		t.Fatalf("change after a dry run = %+v, want the marker campaign %d", c, marker)
	}
	req.DryRun = false
	if _, err := f.store.Resend(f.ctx, req); err != nil {
		t.Fatal(err)
	}
	if c := next(); c.CampaignID != campaignID || c.Status != campaign.StatusCompleted {
		t.Fatalf("change after a resend = %+v, want campaign %d (completed)", c, campaignID)
	}
}

// Two resends of one run at once (a double click) make one new run: the
// second waits for the first and finds its recipients taken.
func TestConcurrentResendsSendOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	_, orig := f.ended(map[string]campaign.DeliveryStatus{"a": failed, "b": unknown})
	errs := make(chan error, 2)
	var wg conc.WaitGroup
	for range 2 {
		wg.Go(func() {
			_, err := f.store.Resend(f.ctx, campaign.ResendRequest{RunID: orig.ID, Statuses: campaign.ResendStatuses(),
				Actor: cliActor, Now: time.Now()})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	var ok, refusals int
	for err := range errs {
		var refusal *campaign.RefusedError
		switch {
		case err == nil:
			ok++
		case errors.As(err, &refusal):
			refusals++
		default:
			t.Errorf("concurrent resend: %v", err)
		}
	}
	if ok != 1 || refusals != 1 {
		t.Errorf("%d resends made, %d refused; want one of each", ok, refusals)
	}
	if n := f.int64(`SELECT count(*) FROM deliveries d JOIN campaign_runs r ON r.id = d.run_id WHERE r.resend_of = $1`, orig.ID); n != 2 {
		t.Errorf("%d deliveries in resends of run %d, want 2", n, orig.ID)
	}
}
