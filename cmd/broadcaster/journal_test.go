package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/broadcaster/broadcaster/campaign"
	"github.com/broadcaster/broadcaster/internal/journal"
	"github.com/broadcaster/broadcaster/sender/sendertest"
)

// results.journal belongs to one process and one database: a journal held
// by another process, or written for another database, stops `run` before
// it sends anything, with a message saying why; a fresh one is used and left
// empty once everything is recorded.
func TestResultsJournalBelongsToOneProcessAndOneDatabase(t *testing.T) {
	t.Parallel()
	env, api, conn := daemonEnv(t, sendertest.Config{})
	insertCampaign(t, conn, "journalled", 3)
	path := filepath.Join(t.TempDir(), "results.journal")
	env["BROADCASTER_RESULTS_JOURNAL"] = path

	held, err := journal.Open(path, "1/elsewhere", zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	err = held.Append([]campaign.Result{{Delivery: campaign.Delivery{ID: 1, Attempt: 1, WcID: "wxid_1"},
		Status: campaign.DeliverySent, Attempt: campaign.Attempt{Outcome: campaign.OutcomeSent, StartedAt: time.Now()}}})
	if err != nil {
		t.Fatal(err)
	}
	r := broadcaster(t, env, "run", "--once")
	if r.code != 1 || !strings.Contains(r.stderr, "in use by another process") {
		t.Errorf("run --once beside the journal's holder: want exit 1 saying it is in use; got %s", r)
	}
	if err := held.Close(); err != nil {
		t.Fatal(err)
	}
	r = broadcaster(t, env, "run", "--once")
	if r.code != 1 || !strings.Contains(r.stderr, "belongs to another database") {
		t.Errorf("run --once with another database's journal: want exit 1 naming the problem; got %s", r)
	}
	if n := api.Stats().Requests; n != 0 {
		t.Fatalf("%d requests sent although the journal was unusable", n)
	}

	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if r := broadcaster(t, env, "run", "--once"); r.code != 0 {
		t.Fatalf("run --once with a fresh journal: %s", r)
	}
	if n := count(t, conn, `SELECT count(*) FROM deliveries WHERE status = 'sent'`); n != 3 {
		t.Errorf("%d of 3 sent", n)
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() != 0 {
		t.Errorf("journal after a clean run: %v, %v; want an empty file", fi, err)
	}
}
