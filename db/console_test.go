package db_test

import (
	"errors"
	"testing"
	"time"

	"github.com/broadcaster/broadcaster/campaign"
)

// consoleFixture is one run of four recipients: a sent, b failed (code
// 1002), c unknown, d pending; a's delivery has two attempts.
func consoleFixture(t *testing.T) (*fixture, campaign.Run) {
	t.Helper()
	f := newFixture(t)
	c := f.campaign([]string{"wxid_a", "wxid_b", "wxid_c", "wxid_d"})
	r := f.run(c)
	f.exec(`UPDATE campaign_runs SET status = 'running', started_at = now() WHERE id = $1`, r.ID)
	f.exec(`UPDATE deliveries SET status = 'sent', sent_at = now(), w_id = 'w1', last_code = '1000', attempts = 2
		WHERE run_id = $1 AND wc_id = 'wxid_a'`, r.ID)
	f.exec(`UPDATE deliveries SET status = 'failed', last_code = '1002', last_error = 'blocked', attempts = 1
		WHERE run_id = $1 AND wc_id = 'wxid_b'`, r.ID)
	f.exec(`UPDATE deliveries SET status = 'unknown', last_error = 'timeout', attempts = 1
		WHERE run_id = $1 AND wc_id = 'wxid_c'`, r.ID)
	f.exec(`INSERT INTO delivery_attempts (delivery_id, attempt, started_at, http_status, code, response)
		SELECT id, n, now() - (2 - n) * interval '1 second', 200, '100' || (n - 1)::text, '{"code":"100' || (n - 1)::text || '"}'
		FROM deliveries, generate_series(1, 2) n WHERE run_id = $1 AND wc_id = 'wxid_a'`, r.ID)
	f.exec(`INSERT INTO sending_accounts (w_id, consecutive_failures, last_failure_at) VALUES ('w1', 0, NULL)`)
	return f, r
}

func TestConsoleRunQueries(t *testing.T) {
	t.Parallel()
	f, r := consoleFixture(t)
	live, err := f.store.LiveRuns(f.ctx, f.now())
	if err != nil || len(live) != 1 {
		t.Fatalf("LiveRuns = %+v, %v", live, err)
	}
	if l := live[0]; l.Sent != 1 || l.Failed != 1 || l.Unknown != 1 || l.Pending != 1 || l.SentLastMinute != 3 {
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

func TestConsoleRecipientAccountsCampaigns(t *testing.T) {
	t.Parallel()
	f, r := consoleFixture(t)
	ds, as, err := f.store.Recipient(f.ctx, "wxid_a", 10)
	if err != nil || len(ds) != 1 || len(as) != 2 || as[0].Response != `{"code":"1000"}` {
		t.Fatalf("Recipient = %+v %+v, %v", ds, as, err)
	}
	if ds, _, _ := f.store.Recipient(f.ctx, "wxid_nobody", 10); len(ds) != 0 {
		t.Errorf("Recipient of nobody = %+v", ds)
	}
	now := f.now()
	pacing := campaign.DefaultPacing()
	accounts, err := f.store.Accounts(f.ctx, campaign.AccountsQuery{Now: now, Since: now.Add(-time.Hour), Pacing: pacing})
	if err != nil || len(accounts) != 1 || accounts[0].SentToday != 1 || accounts[0].State != campaign.AccountPaced {
		t.Fatalf("Accounts = %+v, %v", accounts, err)
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
