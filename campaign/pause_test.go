package campaign_test

import (
	"context"
	"testing"
	"time"

	"github.com/broadcaster/broadcaster/sender/sendertest"
)

func TestPauseStopsNewSendsAndResumeContinues(t *testing.T) {
	h := newHarness(t, sendertest.Config{Latency: 20 * time.Millisecond})
	h.cfg.Concurrency = 2
	id := h.campaign("pausable", applet, recipients("r", 200))
	h.createRuns()
	ctx, cancel := context.WithCancel(h.ctx)
	defer cancel()
	d := h.dispatcher(nil)
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()

	wait, stop := context.WithTimeout(h.ctx, 30*time.Second)
	defer stop()
	if err := h.api.Wait(wait, func(s sendertest.Stats) bool { return s.Sent >= 10 }); err != nil {
		t.Fatal(err)
	}
	h.exec(`UPDATE campaigns SET status = 'paused' WHERE id = $1`, id)
	// Sends already claimed finish and are recorded; nothing new starts.
	eventually(t, func() bool { return h.int64(`SELECT count(*) FROM deliveries WHERE status = 'sending'`) == 0 })
	paused := h.api.Stats().Requests
	for range 5 {
		d.Wake()
		time.Sleep(20 * time.Millisecond)
	}
	if n := h.api.Stats().Requests; n != paused {
		t.Fatalf("%d requests after the pause took effect", n-paused)
	}
	if n := h.int64(`SELECT count(*) FROM deliveries WHERE status = 'sent'`); n != int64(paused) {
		t.Fatalf("recorded %d sent, the API got %d", n, paused)
	}

	h.exec(`UPDATE campaigns SET status = 'active' WHERE id = $1`, id)
	d.Wake()
	if err := h.api.Wait(wait, func(s sendertest.Stats) bool { return s.Sent == 200 }); err != nil {
		t.Fatalf("resume: %v (%+v)", err, h.api.Stats())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if s := h.str(`SELECT status FROM campaigns WHERE id = $1`, id); s != "completed" {
		t.Errorf("campaign = %s, want completed", s)
	}
}
