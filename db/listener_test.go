package db_test

import (
	"context"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/sourcegraph/conc"

	"github.com/broadcaster/broadcaster/campaign"
	"github.com/broadcaster/broadcaster/db"
)

func TestListenerDeliversChangesAndSurvivesDisconnects(t *testing.T) {
	f, url := newFixtureURL(t)

	changes := make(chan campaign.Change, 16)
	l := db.NewListener(url, zerolog.Nop(), func(c campaign.Change) { changes <- c })
	l.MinBackoff = 10 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
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
	id := f.campaign([]string{"a"})
	if c := next(); c.CampaignID != id || c.Status != campaign.StatusActive {
		t.Fatalf("change = %+v, want campaign %d active", c, id)
	}

	// The database drops the listener's connection, as on a restart.
	f.exec(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'broadcaster-listener'`)
	if c := next(); c != (campaign.Change{}) {
		t.Fatalf("after reconnecting: %+v, want the catch-up signal", c)
	}
	f.exec(`UPDATE campaigns SET status = 'paused' WHERE id = $1`, id)
	if c := next(); c.CampaignID != id || c.Status != campaign.StatusPaused {
		t.Fatalf("change = %+v, want campaign %d paused", c, id)
	}
}
