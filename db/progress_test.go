package db_test

import (
	"testing"
	"time"

	"github.com/broadcaster/broadcaster/campaign"
)

// progressRun creates a run of a new campaign with recipients r1..r5, then
// gives the run status and its deliveries the statuses listed, in wc_id
// order, with 2 attempts each.
func progressRun(f *fixture, status campaign.RunStatus, started time.Time, deliveries ...campaign.DeliveryStatus) campaign.Run {
	f.t.Helper()
	run := f.run(f.campaign([]string{"r1", "r2", "r3", "r4", "r5"}))
	var startedAt *time.Time // NULL when zero
	if !started.IsZero() {
		startedAt = &started
	}
	f.exec(`UPDATE campaign_runs SET status = $2, started_at = $3 WHERE id = $1`, run.ID, string(status), startedAt)
	for i, s := range deliveries {
		f.exec(`UPDATE deliveries SET status = $3, attempts = 2 WHERE run_id = $1 AND wc_id = $2`,
			run.ID, "r"+itoa(int64(i+1)), string(s))
	}
	return run
}

func TestRunningSummaries(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	if runs, err := f.store.RunningSummaries(f.ctx); err != nil || len(runs) != 0 {
		t.Fatalf("RunningSummaries of an empty database = %v, %v; want none", runs, err)
	}
	started := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	S, F, U, P, X := campaign.DeliverySent, campaign.DeliveryFailed, campaign.DeliveryUnknown,
		campaign.DeliveryPending, campaign.DeliverySending
	second := progressRun(f, campaign.RunRunning, started, S, S, F, X, P)
	first := progressRun(f, campaign.RunRunning, started.Add(time.Minute), U, S, S, S, S)
	progressRun(f, campaign.RunCompleted, started, S, S, S, S, S)
	progressRun(f, campaign.RunPending, time.Time{})
	f.exec(`UPDATE campaigns SET name = 'spring sale', w_id = 'w9' WHERE id = $1`, second.CampaignID)

	runs, err := f.store.RunningSummaries(f.ctx)
	if err != nil {
		t.Fatalf("RunningSummaries: %v", err)
	}
	want := []campaign.RunProgress{
		{
			RunSummary: campaign.RunSummary{RunID: second.ID, CampaignID: second.CampaignID,
				Total: 5, Sent: 2, Failed: 1, Pending: 2, Attempts: 10},
			CampaignName: "spring sale", WID: "w9", Status: campaign.RunRunning,
			ScheduledFor: second.ScheduledFor, StartedAt: started,
		},
		{
			RunSummary: campaign.RunSummary{RunID: first.ID, CampaignID: first.CampaignID,
				Total: 5, Sent: 4, Unknown: 1, Attempts: 10},
			CampaignName: "c", WID: "w1", Status: campaign.RunRunning,
			ScheduledFor: first.ScheduledFor, StartedAt: started.Add(time.Minute),
		},
	}
	if first.ID < second.ID {
		want[0], want[1] = want[1], want[0]
	}
	checkProgress(t, runs, want)
}

func TestRunSummaries(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	started := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	K := campaign.DeliverySkipped
	a := progressRun(f, campaign.RunCompleted, started, campaign.DeliverySent, campaign.DeliveryFailed, K, K, K)
	b := progressRun(f, campaign.RunCancelled, started, K, K)
	f.exec(`UPDATE campaign_runs SET finished_at = started_at + interval '90 seconds' WHERE id = $1`, a.ID)
	f.exec(`UPDATE deliveries SET attempts = 0 WHERE status = 'skipped'`)

	summaryA := campaign.RunProgress{
		RunSummary: campaign.RunSummary{RunID: a.ID, CampaignID: a.CampaignID,
			Total: 5, Sent: 1, Failed: 1, Skipped: 3, Attempts: 4},
		CampaignName: "c", WID: "w1", Status: campaign.RunCompleted,
		ScheduledFor: a.ScheduledFor, StartedAt: started, FinishedAt: started.Add(90 * time.Second),
	}
	summaryB := campaign.RunProgress{
		RunSummary: campaign.RunSummary{RunID: b.ID, CampaignID: b.CampaignID,
			Total: 5, Pending: 3, Skipped: 2},
		CampaignName: "c", WID: "w1", Status: campaign.RunCancelled,
		ScheduledFor: b.ScheduledFor, StartedAt: started,
	}
	tests := []struct {
		name string
		ids  []int64
		want []campaign.RunProgress
	}{
		{name: "none asked", ids: nil, want: nil},
		{name: "unknown id left out", ids: []int64{b.ID + 1000}, want: nil},
		{name: "in run id order", ids: []int64{b.ID, a.ID, b.ID + 1000}, want: []campaign.RunProgress{summaryA, summaryB}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := f.store.RunSummaries(f.ctx, tt.ids)
			if err != nil {
				t.Fatalf("RunSummaries: %v", err)
			}
			checkProgress(t, got, tt.want)
		})
	}
}

// checkProgress compares summaries field by field, times with Equal.
func checkProgress(t *testing.T, got, want []campaign.RunProgress) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d summaries, want %d:\n got %+v\nwant %+v", len(got), len(want), got, want)
	}
	for i := range want {
		g, w := got[i], want[i]
		sameTimes := g.ScheduledFor.Equal(w.ScheduledFor) && g.StartedAt.Equal(w.StartedAt) && g.FinishedAt.Equal(w.FinishedAt)
		g.ScheduledFor, g.StartedAt, g.FinishedAt = w.ScheduledFor, w.StartedAt, w.FinishedAt
		if !sameTimes || g != w {
			t.Errorf("summary %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

func TestPendingCount(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	P, X, S := campaign.DeliveryPending, campaign.DeliverySending, campaign.DeliverySent
	count := func() int64 {
		t.Helper()
		n, err := f.store.PendingCount(f.ctx)
		if err != nil {
			t.Fatalf("PendingCount: %v", err)
		}
		return n
	}
	if n := count(); n != 0 {
		t.Fatalf("PendingCount of an empty database = %d, want 0", n)
	}
	active := progressRun(f, campaign.RunRunning, time.Now(), S, X, P, P, campaign.DeliveryFailed)
	paused := progressRun(f, campaign.RunRunning, time.Now(), P, P, P, X, S)
	tests := []struct {
		name string
		sql  string
		args []any
		want int64
	}{
		{name: "pending and sending of every campaign", want: 3 + 4},
		{name: "paused campaign left out", sql: `UPDATE campaigns SET status = 'paused' WHERE id = $1`,
			args: []any{paused.CampaignID}, want: 3},
		{name: "a send recorded", sql: `UPDATE deliveries SET status = 'sent' WHERE run_id = $1 AND status = 'sending'`,
			args: []any{active.ID}, want: 2},
	}
	for _, tt := range tests {
		if tt.sql != "" {
			f.exec(tt.sql, tt.args...)
		}
		if n := count(); n != tt.want {
			t.Errorf("%s: PendingCount = %d, want %d", tt.name, n, tt.want)
		}
	}
	view := f.int64(`SELECT coalesce(sum(s.pending), 0)::bigint
		FROM campaign_run_summary s JOIN campaigns c ON c.id = s.campaign_id WHERE c.status = 'active'`)
	if n := count(); n != view {
		t.Errorf("PendingCount = %d, campaign_run_summary's pending of active campaigns = %d", n, view)
	}
}
