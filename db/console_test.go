package db_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/broadcaster/broadcaster/campaign"
)

// consoleFixture is one run of four recipients, sent through the store as
// the dispatcher records results: a sent after two attempts (1001, then
// 1000), b failed (code 1002), c unknown, d pending after a 1001.
func consoleFixture(t *testing.T) (*fixture, campaign.Run) {
	t.Helper()
	f := newFixture(t)
	c := f.campaign([]string{"wxid_a", "wxid_b", "wxid_c", "wxid_d"})
	r := f.run(c)
	now := f.now()
	attempt := func(code string, at time.Time) campaign.Attempt {
		a := campaign.Attempt{StartedAt: at, HTTPStatus: 200, Code: code, Response: `{"code":"` + code + `"}`}
		switch code {
		case "1000":
			a.Outcome = campaign.OutcomeSent
		case "1001":
			a.Outcome = campaign.OutcomeRetry
		case "":
			a.Outcome, a.HTTPStatus, a.Response = campaign.OutcomeAmbiguous, 0, ""
		default:
			a.Outcome = campaign.OutcomeFailed
		}
		return a
	}
	by := map[string]campaign.Delivery{}
	for _, d := range f.claim(10) {
		by[d.WcID] = d
	}
	f.record(
		campaign.Result{Delivery: by["wxid_a"], Status: campaign.DeliveryPending, Error: "code 1001: busy", Attempt: attempt("1001", now.Add(-time.Second))},
		campaign.Result{Delivery: by["wxid_b"], Status: campaign.DeliveryFailed, Error: "blocked", Attempt: attempt("1002", now)},
		campaign.Result{Delivery: by["wxid_c"], Status: campaign.DeliveryUnknown, Error: "timeout", Attempt: attempt("", now)},
		campaign.Result{Delivery: by["wxid_d"], Status: campaign.DeliveryPending, RetryIn: time.Hour, Error: "code 1001: busy", Attempt: attempt("1001", now)},
	)
	again := f.claim(10)
	if len(again) != 1 || again[0].WcID != "wxid_a" {
		t.Fatalf("second claim: %+v", again)
	}
	sent := attempt("1000", now)
	sent.Receipt = &campaign.Receipt{MsgID: 1, NewMsgID: 2, CreateTime: 3, WcID: "wxid_a"}
	f.record(campaign.Result{Delivery: again[0], Status: campaign.DeliverySent, Attempt: sent})
	return f, r
}

func TestConsoleRunQueries(t *testing.T) {
	t.Parallel()
	f, r := consoleFixture(t)
	live, err := f.store.LiveRuns(f.ctx, f.now())
	if err != nil || len(live) != 1 {
		t.Fatalf("LiveRuns = %+v, %v", live, err)
	}
	if l := live[0]; l.Sent != 1 || l.Failed != 1 || l.Unknown != 1 || l.Pending != 1 || l.SentLastMinute != 3 || l.Status != campaign.RunRunning {
		t.Errorf("live run = %+v", l)
	}
	runs, err := f.store.Runs(f.ctx, campaign.RunFilter{Status: campaign.RunRunning})
	if err != nil || len(runs) != 1 || runs[0].RunID != r.ID {
		t.Fatalf("Runs = %+v, %v", runs, err)
	}
	if runs, _ := f.store.Runs(f.ctx, campaign.RunFilter{Before: r.ID}); len(runs) != 0 {
		t.Errorf("Runs before the only run = %+v", runs)
	}
	if _, err := f.store.Run(f.ctx, r.ID+100); !errors.Is(err, campaign.ErrNotFound) {
		t.Errorf("Run of a missing id: %v", err)
	}
	tests := []struct {
		name   string
		filter campaign.DeliveryFilter
		want   []string
	}{
		{"all", campaign.DeliveryFilter{}, []string{"wxid_a", "wxid_b", "wxid_c", "wxid_d"}},
		{"failed", campaign.DeliveryFilter{Status: campaign.DeliveryFailed}, []string{"wxid_b"}},
		{"code", campaign.DeliveryFilter{Code: "1002"}, []string{"wxid_b"}},
		{"wcId", campaign.DeliveryFilter{WcID: "wxid_c"}, []string{"wxid_c"}},
		{"page", campaign.DeliveryFilter{Limit: 2}, []string{"wxid_a", "wxid_b"}},
	}
	for _, tt := range tests {
		tt.filter.RunID = r.ID
		ds, err := f.store.Deliveries(f.ctx, tt.filter)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, d := range ds {
			got = append(got, d.WcID)
		}
		if len(got) != len(tt.want) || (len(got) > 0 && got[0] != tt.want[0]) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
	groups, err := f.store.Failures(f.ctx, r.ID)
	if err != nil || len(groups) != 2 {
		t.Fatalf("Failures = %+v, %v", groups, err)
	}
	rate, err := f.store.RunRate(f.ctx, r.ID)
	if err != nil || len(rate) == 0 {
		t.Fatalf("RunRate = %+v, %v", rate, err)
	}
}

// The Now page's reading (WaitingOnly) returns exactly the accounts that may
// not send now, whatever the reason, each judged on its own row, without
// counting their sends; the Accounts page's returns every account, counted.
func TestWaitingAccounts(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	pacing := campaign.DefaultPacing()
	f.exec(`INSERT INTO sending_accounts (w_id, tokens, refilled_at, not_before, paused_until, consecutive_failures, last_failure_at)
		VALUES ('a_ready',   1, now(), '-infinity', '-infinity', 0, NULL),
		       ('b_paced',   0, now(), '-infinity', '-infinity', 0, NULL),
		       ('c_resting', 1, now(), '-infinity', now() + interval '1 hour', 0, NULL),
		       ('d_broken',  1, now(), '-infinity', '-infinity', $1, now()),
		       ('e_ready',   1, now(), '-infinity', '-infinity', 0, NULL)`, pacing.BreakerFailures)
	now := f.now()
	got := func(q campaign.AccountsQuery) []string {
		t.Helper()
		as, err := f.store.Accounts(f.ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, a := range as {
			out = append(out, a.WID+":"+string(a.State))
		}
		return out
	}
	want := []string{"b_paced:paced", "c_resting:resting", "d_broken:broken"}
	if g := got(campaign.AccountsQuery{Now: now, Since: now, Pacing: pacing, WaitingOnly: true}); !slices.Equal(g, want) {
		t.Errorf("waiting accounts = %v, want %v", g, want)
	}
	if g := got(campaign.AccountsQuery{Now: now, Since: now, Pacing: pacing}); len(g) != 5 {
		t.Errorf("every account = %v, want all five", g)
	}
}

func TestConsoleRecipientAccountsCampaigns(t *testing.T) {
	t.Parallel()
	f, r := consoleFixture(t)
	ds, as, err := f.store.Recipient(f.ctx, "wxid_a", 10)
	if err != nil || len(ds) != 1 || len(as) != 2 || as[0].Response != `{"code":"1001"}` || as[1].Response != `{"code":"1000"}` {
		t.Fatalf("Recipient = %+v %+v, %v", ds, as, err)
	}
	if ds, _, _ := f.store.Recipient(f.ctx, "wxid_nobody", 10); len(ds) != 0 {
		t.Errorf("Recipient of nobody = %+v", ds)
	}
	f.exec(`UPDATE sending_accounts SET tokens = 0, refilled_at = now()`) // just sent: paced
	now := f.now()
	pacing := campaign.DefaultPacing()
	accounts, err := f.store.Accounts(f.ctx, campaign.AccountsQuery{Now: now, Since: now.Add(-time.Hour), Pacing: pacing})
	if err != nil || len(accounts) != 1 || accounts[0].SentToday != 1 || accounts[0].State != campaign.AccountPaced {
		t.Fatalf("Accounts = %+v, %v", accounts, err)
	}
	// The Now page's reading does not count: its SentToday stays 0.
	waiting := campaign.AccountsQuery{Now: now, Since: now.Add(-time.Hour), Pacing: pacing, WaitingOnly: true}
	if accounts, err := f.store.Accounts(f.ctx, waiting); err != nil || len(accounts) != 1 || accounts[0].SentToday != 0 {
		t.Errorf("waiting accounts = %+v, %v; want the paced one, uncounted", accounts, err)
	}
	f.exec(`UPDATE sending_accounts SET tokens = 1, not_before = '-infinity'`)
	accounts, _ = f.store.Accounts(f.ctx, campaign.AccountsQuery{Now: now, Since: now, Pacing: pacing})
	if accounts[0].State != campaign.AccountReady {
		t.Errorf("account with a token and no wait = %+v", accounts[0])
	}
	f.exec(`UPDATE sending_accounts SET consecutive_failures = $1, last_failure_at = now()`, pacing.BreakerFailures)
	accounts, _ = f.store.Accounts(f.ctx, campaign.AccountsQuery{Now: now, Since: now, Pacing: pacing})
	if accounts[0].State != campaign.AccountBroken || accounts[0].SentToday != 0 {
		t.Errorf("broken account = %+v", accounts[0])
	}
	if o, err := f.store.Outage(f.ctx); err != nil || o.Active() {
		t.Errorf("Outage = %+v, %v", o, err)
	}
	c, err := f.store.Campaign(f.ctx, r.CampaignID)
	if err != nil || c.Audience != 4 || c.Template == nil {
		t.Fatalf("Campaign = %+v, %v", c, err)
	}
	f.exec(`INSERT INTO suppressions (wc_id) VALUES ('wxid_a')`)
	if c, _ := f.store.Campaign(f.ctx, r.CampaignID); c.Audience != 3 {
		t.Errorf("audience after a suppression = %d", c.Audience)
	}
	if _, err := f.store.Campaign(f.ctx, r.CampaignID+1); !errors.Is(err, campaign.ErrNotFound) {
		t.Errorf("missing campaign: %v", err)
	}
	cs, err := f.store.Campaigns(f.ctx, 0, 0)
	if err != nil || len(cs) != 1 {
		t.Fatalf("Campaigns = %+v, %v", cs, err)
	}
}
