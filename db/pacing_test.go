package db_test

import (
	"sync"
	"testing"
	"time"

	"github.com/broadcaster/broadcaster/campaign"
)

// pacedCampaign inserts an active one-shot campaign sending from wID, with
// its run created.
func (f *fixture) pacedCampaign(wID string, n int) int64 {
	f.t.Helper()
	var rcpts []string
	for i := range n {
		rcpts = append(rcpts, wID+"_r"+itoa(int64(i)))
	}
	id := f.campaign(rcpts)
	f.exec(`UPDATE campaigns SET w_id = $2 WHERE id = $1`, id, wID)
	f.run(id)
	return id
}

// claimAt claims as a dispatcher whose clock reads now would.
func (f *fixture) claimAt(now time.Time, p campaign.Pacing, limit int) map[string]int {
	f.t.Helper()
	ds, err := f.store.Claim(f.ctx, campaign.ClaimParams{EnsureAccounts: true, Limit: limit, Lease: time.Minute, Pacing: p, Now: now})
	if err != nil {
		f.t.Fatalf("Claim: %v", err)
	}
	per := map[string]int{}
	for _, d := range ds {
		per[d.WID]++
	}
	return per
}

// Pacing is tested on a clock of the test's own, passed to every query as
// "now": no sleeps, and exact answers.
func TestClaimPacesEachAccount(t *testing.T) {
	f := newFixture(t)
	f.pacedCampaign("acct_a", 10)
	f.pacedCampaign("acct_b", 10)
	p := campaign.Pacing{PerSecond: 1, Burst: 2}
	t0 := f.now()

	if got := f.claimAt(t0, p, 100); got["acct_a"] != 2 || got["acct_b"] != 2 {
		t.Fatalf("first claim = %v, want a full burst of 2 per account", got)
	}
	if got := f.claimAt(t0.Add(999*time.Millisecond), p, 100); len(got) != 0 {
		t.Fatalf("claim with empty buckets = %v, want nothing", got)
	}
	o, err := f.store.Outstanding(f.ctx, campaign.OutstandingParams{Pacing: p, Now: t0})
	if err != nil {
		t.Fatal(err)
	}
	if o.NextDue != time.Second {
		t.Errorf("NextDue = %v, want 1s (one token at 1/s)", o.NextDue)
	}
	// A second and a half later, each bucket holds one and a half tokens:
	// one is spent, and the next is due half a second later.
	if got := f.claimAt(t0.Add(1500*time.Millisecond), p, 100); got["acct_a"] != 1 || got["acct_b"] != 1 {
		t.Fatalf("claim after refill = %v, want 1 per account", got)
	}
	if got := f.claimAt(t0.Add(1999*time.Millisecond), campaign.Pacing{}, 100); len(got) != 0 {
		t.Fatalf("claim before the paced wait ended = %v, want nothing", got)
	}
	if got := f.claimAt(t0.Add(2*time.Second), campaign.Pacing{}, 100); got["acct_a"] != 7 || got["acct_b"] != 7 {
		t.Errorf("unlimited claim = %v, want the remaining 7 each", got)
	}
}

// The jitter pause comes on top of the wait for the next token, so the
// rhythm varies rather than ending inside the token wait (SPEC §6).
func TestClaimJitterComesAfterTheTokenWait(t *testing.T) {
	f := newFixture(t)
	f.pacedCampaign("acct_a", 5)
	t0 := f.now()
	f.claimAt(t0, campaign.Pacing{PerSecond: 1, Burst: 1, Jitter: time.Hour}, 100)
	var wait float64
	if err := f.pool.QueryRow(f.ctx, `SELECT extract(epoch FROM not_before - $1) FROM sending_accounts`, t0).Scan(&wait); err != nil {
		t.Fatal(err)
	}
	if wait < 1 || wait > 3601 {
		t.Errorf("next send in %.2fs, want the 1s token wait plus 0..3600s of jitter", wait)
	}
}

func TestClaimJitterPausesTheAccount(t *testing.T) {
	f := newFixture(t)
	f.pacedCampaign("acct_a", 5)
	p := campaign.Pacing{Burst: 1, Jitter: time.Hour}
	t0 := f.now()
	if got := f.claimAt(t0, p, 100); got["acct_a"] != 5 {
		t.Fatalf("unlimited rate takes all due: %v", got)
	}
	var ok bool
	if err := f.pool.QueryRow(f.ctx, `SELECT not_before >= $1 AND not_before <= $1 + interval '1 hour' FROM sending_accounts`, t0).Scan(&ok); err != nil || !ok {
		t.Errorf("not_before not within the jitter: %v %v", ok, err)
	}
}

func TestOperatorPauseOfAnAccountHoldsOnlyThatAccount(t *testing.T) {
	f := newFixture(t)
	f.pacedCampaign("acct_a", 3)
	f.pacedCampaign("acct_b", 3)
	t0 := f.now()
	f.claimAt(t0, campaign.Pacing{}, 0) // creates the account rows
	f.exec(`UPDATE sending_accounts SET paused_until = $1::timestamptz + interval '1 hour' WHERE w_id = 'acct_a'`, t0)
	if got := f.claimAt(t0, campaign.Pacing{}, 100); got["acct_a"] != 0 || got["acct_b"] != 3 {
		t.Errorf("claim = %v, want only acct_b's 3", got)
	}
	if got := f.claimAt(t0.Add(time.Hour), campaign.Pacing{}, 100); got["acct_a"] != 3 {
		t.Errorf("claim after the pause = %v, want acct_a's 3", got)
	}
}

func TestBreakerRestsAnAccountThenProbes(t *testing.T) {
	f := newFixture(t)
	f.pacedCampaign("acct_a", 10)
	f.pacedCampaign("acct_b", 10)
	p := campaign.Pacing{Burst: 5, PerSecond: 100, BreakerFailures: 3, BreakerCoolDown: time.Minute}

	fail := func(ds []campaign.Delivery) {
		t.Helper()
		var rs []campaign.Result
		for _, d := range ds {
			rs = append(rs, campaign.Result{Delivery: d, Status: campaign.DeliveryPending, Error: "code 1001",
				Attempt: campaign.Attempt{Outcome: campaign.OutcomeRetry, StartedAt: time.Now(), Code: "1001"}})
		}
		f.record(rs...)
	}
	ds, err := f.store.Claim(f.ctx, campaign.ClaimParams{EnsureAccounts: true, Limit: 3, Lease: time.Minute, Pacing: campaign.Pacing{}})
	if err != nil || len(ds) != 3 {
		t.Fatalf("claim: %v %v", ds, err)
	}
	var a []campaign.Delivery
	for _, d := range ds {
		d.WID = "acct_a" // three failures in a row, all from acct_a
		a = append(a, d)
	}
	fail(a)
	if n := f.int64(`SELECT consecutive_failures FROM sending_accounts WHERE w_id = 'acct_a'`); n != 3 {
		t.Fatalf("consecutive_failures = %d, want 3", n)
	}
	t0 := f.now() // the failures are recorded, and their retries due
	if got := f.claimAt(t0, p, 100); got["acct_a"] != 0 || got["acct_b"] == 0 {
		t.Fatalf("claim while acct_a rests = %v, want only acct_b", got)
	}
	f.exec(`UPDATE campaigns SET status = 'paused' WHERE w_id = 'acct_b'`)
	o, err := f.store.Outstanding(f.ctx, campaign.OutstandingParams{
		Pacing: campaign.Pacing{BreakerFailures: 3, BreakerCoolDown: time.Minute}, Now: t0})
	if err != nil {
		t.Fatal(err)
	}
	if o.Pending == 0 || o.NextDue < 50*time.Second {
		t.Errorf("Outstanding with only the resting account = %+v, want the cool-down", o)
	}
	f.exec(`UPDATE campaigns SET status = 'active' WHERE w_id = 'acct_b'`)

	// The cool-down has passed: exactly one probe, and nothing more until
	// its result arrives.
	t1 := t0.Add(2 * time.Minute)
	probe, err := f.store.Claim(f.ctx, campaign.ClaimParams{EnsureAccounts: true, Limit: 100, Lease: time.Minute, Pacing: p, Now: t1})
	if err != nil {
		t.Fatal(err)
	}
	var probes []campaign.Delivery
	for _, d := range probe {
		if d.WID == "acct_a" {
			probes = append(probes, d)
		}
	}
	if len(probes) != 1 {
		t.Fatalf("probes = %d, want 1", len(probes))
	}
	if got := f.claimAt(t1.Add(59*time.Second), p, 100); got["acct_a"] != 0 {
		t.Fatalf("claimed %d more while the probe is in flight", got["acct_a"])
	}
	ok := campaign.Result{Delivery: probes[0], Status: campaign.DeliverySent,
		Attempt: campaign.Attempt{Outcome: campaign.OutcomeSent, StartedAt: time.Now(), Code: "1000", Receipt: &campaign.Receipt{MsgID: 1, NewMsgID: 2}}}
	f.record(ok)
	if n := f.int64(`SELECT consecutive_failures FROM sending_accounts WHERE w_id = 'acct_a'`); n != 0 {
		t.Fatalf("after a successful probe consecutive_failures = %d", n)
	}
	if got := f.claimAt(t1.Add(time.Minute), p, 100); got["acct_a"] != 5 { // buckets full
		t.Errorf("after the probe claim = %v, want a full burst for acct_a", got)
	}
}

func TestPacingHoldsAcrossConcurrentClaimers(t *testing.T) {
	f := newFixture(t)
	f.pacedCampaign("acct_a", 20)
	p := campaign.Pacing{PerSecond: 0.001, Burst: 1}
	var (
		mu    sync.Mutex
		total int
		wg    sync.WaitGroup
	)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ds, err := f.store.Claim(f.ctx, campaign.ClaimParams{EnsureAccounts: true, Limit: 10, Lease: time.Minute, Pacing: p})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			total += len(ds)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if total != 1 {
		t.Errorf("8 concurrent claimers took %d deliveries of a 1-token account, want 1", total)
	}
}
