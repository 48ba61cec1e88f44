package campaign_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/broadcaster/broadcaster/campaign"
)

func TestPreview(t *testing.T) {
	seed, err := os.ReadFile("../cmd/broadcaster/seed-appmsg.xml")
	if err != nil {
		t.Fatal(err)
	}
	p, err := campaign.Preview("<msg>" + string(seed) + "</msg>")
	if err != nil {
		t.Fatal(err)
	}
	if p.Title != "云铺海购" || p.Description != "云铺海购" || !strings.HasPrefix(p.PagePath, "pages/home/dashboard/index.html?") {
		t.Errorf("Preview(seed) = %+v", p)
	}
	if _, err := campaign.Preview("<msg><title>no appmsg</title></msg>"); err == nil {
		t.Error("a template without <appmsg> has no preview")
	}
}

func TestNextFirings(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	end := now.Add(49 * time.Hour)
	tests := []struct {
		name string
		c    campaign.Campaign
		want []string
	}{
		{"daily in the campaign's zone", campaign.Campaign{Schedule: "CRON_TZ=Asia/Shanghai 0 21 * * *", StartAt: now.Add(-time.Hour)},
			[]string{"2026-03-01 21:00 CST", "2026-03-02 21:00 CST", "2026-03-03 21:00 CST"}},
		{"ends", campaign.Campaign{Schedule: "0 21 * * *", StartAt: now, EndAt: &end},
			[]string{"2026-03-01 21:00 UTC", "2026-03-02 21:00 UTC"}},
		{"one-shot to come", campaign.Campaign{StartAt: now.Add(time.Hour)}, []string{"2026-03-01 13:00 UTC"}},
		{"one-shot past", campaign.Campaign{StartAt: now.Add(-time.Hour)}, nil},
	}
	for _, tt := range tests {
		got, _, err := campaign.NextFirings(tt.c, time.UTC, now, 3)
		if err != nil {
			t.Fatal(err)
		}
		var s []string
		for _, f := range got {
			s = append(s, f.Format("2006-01-02 15:04 MST"))
		}
		if strings.Join(s, ",") != strings.Join(tt.want, ",") {
			t.Errorf("%s: got %v, want %v", tt.name, s, tt.want)
		}
	}
}

func TestLiveRunRate(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	run := func(started time.Duration, pending int) campaign.RunProgress {
		r := campaign.RunProgress{StartedAt: now.Add(-started)}
		r.Pending = pending
		return r
	}
	tests := []struct {
		name    string
		r       campaign.LiveRun
		rate    float64
		eta     time.Duration
		etaKnow bool
	}{
		{"a minute in", campaign.NewLiveRun(run(10*time.Minute, 120), 60, now), 1, 2 * time.Minute, true},
		{"ten seconds in", campaign.NewLiveRun(run(10*time.Second, 40), 20, now), 2, 20 * time.Second, true},
		{"stalled", campaign.NewLiveRun(run(time.Hour, 5), 0, now), 0, 0, false},
		{"done", campaign.NewLiveRun(run(time.Hour, 0), 0, now), 0, 0, true},
	}
	for _, tt := range tests {
		eta, ok := tt.r.ETA()
		if tt.r.RatePerSecond() != tt.rate || eta != tt.eta || ok != tt.etaKnow {
			t.Errorf("%s: rate %v, ETA %v %v", tt.name, tt.r.RatePerSecond(), eta, ok)
		}
	}
}
