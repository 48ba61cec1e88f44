package db_test

import (
	"testing"
	"time"

	"github.com/broadcaster/broadcaster/campaign"
	"github.com/broadcaster/broadcaster/db"
)

// The account breaker counts the API's answers for the account, not the
// failures of the API as a whole nor those that never reached it.
func TestBreakerCountsOnlyTheAPIsAnswers(t *testing.T) {
	f := newFixture(t)
	f.pacedCampaign("acct_a", 10)
	ds := f.claim(10)
	if len(ds) != 10 {
		t.Fatalf("claimed %d, want 10", len(ds))
	}
	result := func(d campaign.Delivery, a campaign.Attempt) campaign.Result {
		a.StartedAt = time.Now()
		return campaign.Result{Delivery: d, Attempt: a, Status: campaign.DeliveryPending, Error: a.Error}
	}
	var rs []campaign.Result
	for i, a := range []campaign.Attempt{
		{Outcome: campaign.OutcomeRetry, Transport: true, Error: "request not sent: connection refused"},
		{Outcome: campaign.OutcomeRetry, Transport: true, HTTPStatus: 503, Error: "HTTP 503 Service Unavailable"},
		{Outcome: campaign.OutcomeAmbiguous, Transport: true, Error: "timeout after request was written"},
		{Outcome: campaign.OutcomeAmbiguous, Transport: true, HTTPStatus: 200, Error: "unparseable HTTP 200 response"},
		{Outcome: campaign.OutcomeFailed, Error: "internal error: boom"},
		{Outcome: campaign.OutcomeFailed, HTTPStatus: 200, Code: "1002", Error: "code 1002"},
		{Outcome: campaign.OutcomeRetry, HTTPStatus: 200, Code: "1001", Error: "code 1001"},
		{Outcome: campaign.OutcomeFailed, HTTPStatus: 401, Error: "HTTP 401 Unauthorized"},
	} {
		rs = append(rs, result(ds[i], a))
	}
	f.record(rs...)
	if n := f.int64(`SELECT consecutive_failures FROM sending_accounts WHERE w_id = 'acct_a'`); n != 3 {
		t.Errorf("consecutive_failures = %d, want 3: the 1002, the 1001 and the 401", n)
	}
	// Transport failures alone leave the count and the last failure as
	// they were, and still end a probe's hold.
	f.exec(`UPDATE sending_accounts SET probe_until = now() + interval '1 minute', last_failure_at = '2000-01-01'`)
	f.record(result(ds[8], campaign.Attempt{Outcome: campaign.OutcomeRetry, Transport: true, Error: "refused"}))
	if s := f.str(`SELECT consecutive_failures || ' ' || last_failure_at::date || ' ' || (probe_until IS NULL)
		FROM sending_accounts WHERE w_id = 'acct_a'`); s != "3 2000-01-01 true" {
		t.Errorf("after a transport failure: %s, want 3 2000-01-01 true", s)
	}
}

func TestOutageStateIsSharedThroughOneRow(t *testing.T) {
	f := newFixture(t)
	a, b := f.store, db.NewStore(f.pool, "test:2")
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

	st, err := a.OutageState(f.ctx, t0)
	if err != nil || st.Paused() {
		t.Fatalf("fresh state = %+v, %v; want not paused", st, err)
	}
	opened, err := a.OpenOutage(f.ctx, t0, 5*time.Second, "refused")
	if err != nil || !opened {
		t.Fatalf("OpenOutage = %v, %v; want opened", opened, err)
	}
	// A second instance joining keeps the start and the probe time.
	opened, err = b.OpenOutage(f.ctx, t0.Add(time.Second), 5*time.Second, "HTTP 503")
	if err != nil || opened {
		t.Fatalf("second OpenOutage = %v, %v; want joined, not opened", opened, err)
	}
	st, err = b.OutageState(f.ctx, t0)
	if err != nil || !st.Now.Equal(t0) || !st.Since.Equal(t0) || !st.PausedUntil.Equal(t0.Add(5*time.Second)) || st.LastError != "HTTP 503" {
		t.Fatalf("state = %+v, %v", st, err)
	}

	take := func(s *db.Store, at time.Duration) bool {
		t.Helper()
		ok, err := s.TakeProbe(f.ctx, t0.Add(at), 30*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if take(a, 4*time.Second) {
		t.Fatal("probe taken before its time")
	}
	if !take(a, 5*time.Second) || take(b, 6*time.Second) {
		t.Fatal("want a's probe, and b refused while it runs")
	}
	if !take(a, 7*time.Second) {
		t.Fatal("a could not renew its own probe")
	}
	if st, _ := a.OutageState(f.ctx, t0); !st.ProbeMine || st.ProbeOwner != "test:1" {
		t.Errorf("a's view: %+v, want its own probe", st)
	}
	if st, _ := b.OutageState(f.ctx, t0); st.ProbeMine {
		t.Errorf("b's view: %+v, want another's probe", st)
	}
	// b ending a probe it does not hold changes nothing.
	if err := b.ProbeFailed(f.ctx, t0.Add(8*time.Second), time.Hour, "x"); err != nil {
		t.Fatal(err)
	}
	if err := a.ProbeFailed(f.ctx, t0.Add(8*time.Second), 5*time.Second, "still refused"); err != nil {
		t.Fatal(err)
	}
	st, _ = b.OutageState(f.ctx, t0)
	if !st.PausedUntil.Equal(t0.Add(13*time.Second)) || st.ProbeOwner != "" || st.LastError != "still refused" {
		t.Errorf("after a's failed probe: %+v", st)
	}
	if !take(b, 13*time.Second) {
		t.Fatal("b could not probe at the next probe time")
	}
	// b dies; its lease runs out and a probes.
	if take(a, 42*time.Second) || !take(a, 43*time.Second) {
		t.Fatal("want a's probe once b's lease ran out, not before")
	}

	closed, err := a.CloseOutage(f.ctx, t0.Add(time.Minute))
	if err != nil || !closed {
		t.Fatalf("CloseOutage = %v, %v", closed, err)
	}
	if closed, _ := b.CloseOutage(f.ctx, t0.Add(time.Minute)); closed {
		t.Error("closed twice")
	}
	st, _ = b.OutageState(f.ctx, t0)
	if st.Paused() || st.ProbeOwner != "" || st.LastError != "still refused" {
		t.Errorf("after the resume: %+v, want not paused, the last error kept", st)
	}
	if take(a, 2*time.Minute) {
		t.Error("probe taken with no outage")
	}

	// An operator who deletes the row resumes sending; a new outage
	// brings it back.
	f.exec(`DELETE FROM api_outage`)
	if st, err := a.OutageState(f.ctx, t0); err != nil || st.Paused() {
		t.Fatalf("without the row: %+v, %v", st, err)
	}
	if opened, err := b.OpenOutage(f.ctx, t0.Add(time.Hour), 0, "refused"); err != nil || !opened {
		t.Fatalf("OpenOutage without the row = %v, %v", opened, err)
	}
	if st, _ := a.OutageState(f.ctx, t0); !st.Paused() {
		t.Error("not paused after the row came back")
	}
}

// Production passes no now (zero): the row is written, and read, on the
// database's clock, whatever the host's clock says.
func TestOutageWithoutNowUsesTheDatabaseClock(t *testing.T) {
	f := newFixture(t)
	var none time.Time
	before := f.now()
	if _, err := f.store.OpenOutage(f.ctx, none, time.Hour, "refused"); err != nil {
		t.Fatal(err)
	}
	st, err := f.store.OutageState(f.ctx, none)
	if err != nil {
		t.Fatal(err)
	}
	after := f.now()
	if st.Now.Before(before) || st.Now.After(after) {
		t.Errorf("read at %v, want the database's now (between %v and %v)", st.Now, before, after)
	}
	if st.Since.Before(before) || st.Since.After(st.Now) {
		t.Errorf("since %v, want the database's now (between %v and %v)", st.Since, before, st.Now)
	}
	if d := st.PausedUntil.Sub(st.Since); d != time.Hour {
		t.Errorf("next probe %v after the start, want 1h", d)
	}
}

func TestRestingAccounts(t *testing.T) {
	f := newFixture(t)
	f.pacedCampaign("acct_a", 1)
	f.pacedCampaign("acct_b", 1)
	f.pacedCampaign("acct_c", 1)
	now := f.now()
	f.claimAt(now, campaign.Pacing{}, 0) // creates the account rows
	f.exec(`UPDATE sending_accounts SET consecutive_failures = 5, last_failure_at = $1 WHERE w_id = 'acct_a'`, now.Add(-time.Minute))
	f.exec(`UPDATE sending_accounts SET consecutive_failures = 5, last_failure_at = $1 WHERE w_id = 'acct_b'`, now.Add(-time.Hour))
	f.exec(`UPDATE sending_accounts SET consecutive_failures = 2, last_failure_at = $1 WHERE w_id = 'acct_c'`, now)
	p := campaign.Pacing{BreakerFailures: 3, BreakerCoolDown: 5 * time.Minute}
	r, err := f.store.RestingAccounts(f.ctx, p, now)
	if err != nil {
		t.Fatal(err)
	}
	if r.Count != 1 || len(r.Sample) != 1 || r.Sample[0] != "acct_a" {
		t.Errorf("resting = %+v, want acct_a only (b's cool-down is over, c is below the threshold)", r)
	}
	if r, err := f.store.RestingAccounts(f.ctx, campaign.Pacing{}, now); err != nil || r.Count != 0 {
		t.Errorf("breaker off: %+v, %v; want none", r, err)
	}
}
