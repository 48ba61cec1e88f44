package campaign_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/broadcaster/broadcaster/campaign"
	"github.com/broadcaster/broadcaster/sender/sendertest"
)

// errClaimLost is what a client sees when PostgreSQL restarts after a claim
// commits but before its rows arrive, or the claim's timeout fires then.
var errClaimLost = errors.New("unexpected EOF reading the claim's rows")

// loseClaims commits its first n claims in the real store and then drops
// their rows, returning an error instead: those deliveries are `sending`
// under this process, which never learns their ids.
type loseClaims struct {
	campaign.DeliveryStore
	mu   sync.Mutex
	n    int
	lost []int64
}

func (l *loseClaims) Claim(ctx context.Context, p campaign.ClaimParams) ([]campaign.Delivery, error) {
	ds, err := l.DeliveryStore.Claim(ctx, p)
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil || len(ds) == 0 || l.n == 0 {
		return ds, err
	}
	l.n--
	for _, d := range ds {
		l.lost = append(l.lost, d.ID)
	}
	return nil, errClaimLost
}

func (l *loseClaims) lostIDs() []int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lost
}

// A lone process must recover its own claims whose rows never reached it:
// nobody else reaps them. They were never sent, so once their lease ran
// out they go back to pending with the attempt given back (whatever
// retry.ambiguous says), and are sent exactly once; the batch ends.
func TestLostClaimsOfThisProcessAreSentOnce(t *testing.T) {
	h := newHarness(t, sendertest.Config{})
	h.cfg.Concurrency = 4
	h.cfg.Lease = time.Second // the lost claims wait this out; the held ones are never reaped here
	const n = 20
	h.campaign("lost", applet, recipients("r", n))
	h.createRuns()
	store := &loseClaims{DeliveryStore: h.store, n: 2}
	ctx, cancel := context.WithTimeout(h.ctx, 60*time.Second)
	defer cancel()
	if err := campaign.NewDispatcher(store, h.snd, h.cfg, zerologNop()).Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if ctx.Err() != nil {
		t.Fatalf("Drain did not finish: %d deliveries still sending (lost claims: %v)",
			h.int64(`SELECT count(*) FROM deliveries WHERE status = 'sending'`), store.lostIDs())
	}
	if got := len(store.lostIDs()); got != 2*h.cfg.Concurrency {
		t.Fatalf("%d deliveries lost in claims, want %d", got, 2*h.cfg.Concurrency)
	}
	perRecipient := map[string]int{}
	for _, r := range h.api.Requests() {
		perRecipient[r.WcID]++
	}
	for _, wcID := range recipients("r", n) {
		if perRecipient[wcID] != 1 {
			t.Errorf("recipient %s got %d requests, want exactly 1", wcID, perRecipient[wcID])
		}
	}
	if s := h.str(`SELECT string_agg(DISTINCT status || ' ' || attempts, ',') FROM deliveries`); s != "sent 1" {
		t.Errorf("deliveries: %s, want all sent on their first attempt", s)
	}
}
