package campaign_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/broadcaster/broadcaster/campaign"
	"github.com/broadcaster/broadcaster/db"
	"github.com/broadcaster/broadcaster/internal/journal"
	"github.com/broadcaster/broadcaster/sender/sendertest"
)

// unwritable is a database that takes claims but refuses results, as one
// does whose role lost the right to insert attempts: the first refusals
// writes, or every one when refusals is negative.
type unwritable struct {
	campaign.DeliveryStore
	refusals int64
	refused  atomic.Int64
}

var errCannotWrite = errors.New("permission denied for sequence delivery_attempts_id_seq")

func (u *unwritable) Record(ctx context.Context, rs []campaign.Result) ([]int64, error) {
	if n := u.refused.Add(1); u.refusals < 0 || n <= u.refusals {
		return nil, errCannotWrite
	}
	return u.DeliveryStore.Record(ctx, rs)
}

func openJournal(t *testing.T, path string) *journal.File {
	t.Helper()
	j, err := journal.Open(path, "test", zerologNop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = j.Close() })
	return j
}

// A process that cannot write results stops (or dies) holding what the API
// confirmed. With a journal, the next process replays those answers into the
// database before it sends anything: every confirmed delivery ends `sent`
// with its msgId, even after another instance reaped it as `unknown`.
func TestJournalRecoversResultsTheDatabaseNeverTook(t *testing.T) {
	h := newHarness(t, sendertest.Config{})
	h.cfg.StopTimeout = 50 * time.Millisecond
	const n = 20
	// A result not yet written holds its slot: with writes refused, a process
	// sends at most its concurrency. Let it send them all.
	h.cfg.Concurrency = n
	h.campaign("journalled", applet, recipients("r", n))
	h.createRuns()
	path := filepath.Join(t.TempDir(), "results.journal")

	store := &unwritable{DeliveryStore: h.store, refusals: -1}
	cfg := h.cfg
	cfg.Journal = openJournal(t, path)
	ctx, cancel := context.WithCancel(h.ctx)
	done := make(chan error, 1)
	go func() { done <- campaign.NewDispatcher(store, h.snd, cfg, zerologNop()).Run(ctx) }()
	wait, stop := context.WithTimeout(h.ctx, 30*time.Second)
	defer stop()
	if err := h.api.Wait(wait, func(s sendertest.Stats) bool { return s.Sent == n }); err != nil {
		t.Fatalf("the API never confirmed %d sends: %v", n, err)
	}
	cancel() // the stop tries to write them, in vain
	if err := <-done; !errors.Is(err, campaign.ErrResultsNotRecorded) {
		t.Fatalf("Run = %v, want ErrResultsNotRecorded", err)
	}
	if err := cfg.Journal.(*journal.File).Close(); err != nil {
		t.Fatal(err)
	}
	if got := h.int64(`SELECT count(*) FROM deliveries WHERE status = 'sending'`); got != n {
		t.Fatalf("%d deliveries sending after the failed stop, want %d", got, n)
	}
	// Another instance reaps them as unknown once their lease is over.
	h.exec(`UPDATE deliveries SET lease_until = now() - interval '1 second'`)
	if _, err := db.NewStore(h.pool, "other:2").Reap(h.ctx, campaign.ReapParams{MaxAttempts: 4}); err != nil {
		t.Fatal(err)
	}
	if got := h.int64(`SELECT count(*) FROM deliveries WHERE status = 'unknown'`); got != n {
		t.Fatalf("%d deliveries reaped unknown, want %d", got, n)
	}

	replayed, err := campaign.ReplayJournal(h.ctx, openJournal(t, path), h.store, zerologNop(), campaign.ReplayOptions{})
	if err != nil || replayed != n {
		t.Fatalf("ReplayJournal = %d, %v; want %d", replayed, err, n)
	}
	sent := map[string]sendertest.Request{}
	for _, r := range h.api.Requests() {
		sent[r.WcID] = r
	}
	rows, err := h.pool.Query(h.ctx, `SELECT wc_id, status, coalesce(msg_id, 0), coalesce(new_msg_id, 0),
		(SELECT count(*) FROM delivery_attempts a WHERE a.delivery_id = d.id) FROM deliveries d`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var wc, status string
		var msgID, newMsgID, attempts int64
		if err := rows.Scan(&wc, &status, &msgID, &newMsgID, &attempts); err != nil {
			t.Fatal(err)
		}
		if api := sent[wc]; status != "sent" || msgID != api.MsgID || newMsgID != api.NewMsgID || attempts != 1 {
			t.Errorf("%s: %s msgId %d newMsgId %d, %d attempt rows; the API sent it with %d/%d",
				wc, status, msgID, newMsgID, attempts, api.MsgID, api.NewMsgID)
		}
	}
	if rs, _, err := journal.Read(path); err != nil || len(rs) != 0 {
		t.Errorf("after the replay the journal holds %d results (%v), want none", len(rs), err)
	}
}

// While the database is down at start, the journal is kept and the replay
// tried again; a batch job gives up after GiveUpAfter with the journal
// intact for the next run.
func TestJournalReplayWaitsForTheDatabase(t *testing.T) {
	h := newHarness(t, sendertest.Config{})
	h.campaign("later", applet, recipients("r", 3))
	h.createRuns()
	claimed, err := h.store.Claim(h.ctx, campaign.ClaimParams{EnsureAccounts: true, Limit: 3, Lease: time.Minute})
	if err != nil || len(claimed) != 3 {
		t.Fatalf("claim = %d, %v", len(claimed), err)
	}
	path := filepath.Join(t.TempDir(), "results.journal")
	j := openJournal(t, path)
	for _, dl := range claimed {
		res := campaign.Result{Delivery: dl, Status: campaign.DeliverySent, Attempt: campaign.Attempt{
			Outcome: campaign.OutcomeSent, StartedAt: time.Now(), Code: "1000",
			Receipt: &campaign.Receipt{MsgID: dl.ID, NewMsgID: 1 << 60, CreateTime: 1}}}
		if err := j.Append([]campaign.Result{res}); err != nil {
			t.Fatal(err)
		}
	}

	down := &unwritable{DeliveryStore: h.store, refusals: -1}
	_, err = campaign.ReplayJournal(h.ctx, j, down, zerologNop(), campaign.ReplayOptions{GiveUpAfter: time.Millisecond})
	if !errors.Is(err, campaign.ErrDatabaseUnavailable) {
		t.Fatalf("ReplayJournal on a down database = %v, want ErrDatabaseUnavailable", err)
	}
	if rs, _, _ := journal.Read(path); len(rs) != 3 {
		t.Fatalf("the journal holds %d results after a failed replay, want 3", len(rs))
	}

	// The daemon keeps trying until the database is back.
	restarting := &unwritable{DeliveryStore: h.store, refusals: 2}
	n, err := campaign.ReplayJournal(h.ctx, j, restarting, zerologNop(), campaign.ReplayOptions{})
	if err != nil || n != 3 || restarting.refused.Load() != 3 {
		t.Fatalf("ReplayJournal = %d, %v after %d writes; want 3 results in the third", n, err, restarting.refused.Load())
	}
	if got := h.int64(`SELECT count(*) FROM deliveries WHERE status = 'sent' AND new_msg_id = $1`, int64(1)<<60); got != 3 {
		t.Errorf("%d deliveries sent with their newMsgId, want 3", got)
	}
}

// brokenJournal is a journal on a full disk.
type brokenJournal struct{ appends atomic.Int64 }

func (b *brokenJournal) Append([]campaign.Result) error {
	b.appends.Add(1)
	return errors.New("no space left on device")
}
func (*brokenJournal) Written() error                             { return nil }
func (*brokenJournal) Replay(func([]campaign.Result) error) error { return nil }

// The journal adds safety and never takes any away: when it cannot be
// written, results still go to the database.
func TestAFailingJournalDoesNotStopResultsReachingTheDatabase(t *testing.T) {
	h := newHarness(t, sendertest.Config{})
	h.campaign("full disk", applet, recipients("r", 10))
	h.createRuns()
	j := &brokenJournal{}
	h.cfg.Journal = j
	h.drain(nil)
	if got := h.int64(`SELECT count(*) FROM deliveries WHERE status = 'sent'`); got != 10 {
		t.Errorf("%d of 10 recorded sent", got)
	}
	if j.appends.Load() == 0 {
		t.Error("the journal was never tried")
	}
}
