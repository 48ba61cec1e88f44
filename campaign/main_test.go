package campaign_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/rs/zerolog"

	"github.com/broadcaster/broadcaster/campaign"
	"github.com/broadcaster/broadcaster/campaign/campaigntest"
	"github.com/broadcaster/broadcaster/db"
	"github.com/broadcaster/broadcaster/internal/dbtest"
	"github.com/broadcaster/broadcaster/sender"
	"github.com/broadcaster/broadcaster/sender/sendertest"
)

func TestMain(m *testing.M) { dbtest.Main(m, dbtest.WithMigrate(db.Migrate)) }

// harness is a real database, the fake API and a real client to it.
type harness struct {
	t     *testing.T
	ctx   context.Context
	pool  *pgxpool.Pool
	store *db.Store
	api   *sendertest.Server
	snd   *sender.Client
	cfg   campaign.DispatchConfig

	dispatcherWake func() // the running dispatcher's Wake, where a test needs it
}

func newHarness(t *testing.T, api sendertest.Config) *harness {
	t.Helper()
	pool := dbtest.New(t)
	srv, err := sendertest.Start(api)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	snd, err := sender.New(sender.Options{BaseURL: srv.URL(), Token: api.Token, Timeout: 2 * time.Second, MaxConns: 8})
	if err != nil {
		t.Fatal(err)
	}
	return &harness{
		t: t, ctx: context.Background(), pool: pool, store: db.NewStore(pool, "test:1"), api: srv, snd: snd,
		cfg: campaign.DispatchConfig{
			Concurrency:  8,
			Retry:        campaign.RetryPolicy{MaxAttempts: 4, Backoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond},
			PollInterval: 50 * time.Millisecond,
			FlushEvery:   5 * time.Millisecond,
			ReapEvery:    50 * time.Millisecond,
		},
	}
}

func (h *harness) exec(sql string, args ...any) {
	h.t.Helper()
	if _, err := h.pool.Exec(h.ctx, sql, args...); err != nil {
		h.t.Fatalf("exec %q: %v", sql, err)
	}
}

func (h *harness) int64(sql string, args ...any) int64 {
	h.t.Helper()
	var v int64
	if err := h.pool.QueryRow(h.ctx, sql, args...).Scan(&v); err != nil {
		h.t.Fatalf("query %q: %v", sql, err)
	}
	return v
}

func (h *harness) str(sql string, args ...any) string {
	h.t.Helper()
	var v string
	if err := h.pool.QueryRow(h.ctx, sql, args...).Scan(&v); err != nil {
		h.t.Fatalf("query %q: %v", sql, err)
	}
	return v
}

// campaign inserts a one-shot campaign due now, as an operator would.
func (h *harness) campaign(name, content string, recipients []string) int64 {
	h.t.Helper()
	tmpl := h.int64(`INSERT INTO applet_templates (name, img_url, content) VALUES ($1, 'https://cdn.example.com/{{wcId}}.jpg', $2) RETURNING id`, name, content)
	return h.int64(`INSERT INTO campaigns (name, template_id, w_id, recipients, start_at)
		VALUES ($1, $2, 'wid-1', $3, now() - interval '1 second') RETURNING id`, name, tmpl, recipients)
}

// createRuns runs the scheduler once.
func (h *harness) createRuns() []campaign.Run {
	h.t.Helper()
	runs, err := campaign.NewScheduler(h.store, campaign.SystemClock{}, zerolog.Nop()).CreateDueRuns(h.ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	return runs
}

func (h *harness) dispatcher(s campaign.Sender) *campaign.Dispatcher {
	if s == nil {
		s = h.snd
	}
	return campaign.NewDispatcher(h.store, s, h.cfg, zerolog.Nop())
}

// drain sends everything due, with a deadline so a bug fails instead of hangs.
func (h *harness) drain(s campaign.Sender) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(h.ctx, 60*time.Second)
	defer cancel()
	if err := h.dispatcher(s).Drain(ctx); err != nil {
		h.t.Fatal(err)
	}
	if ctx.Err() != nil {
		h.t.Fatal("Drain did not finish in time")
	}
}

func recipients(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = prefix + time.Duration(i).String()
	}
	return out
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

func zerologNop() zerolog.Logger { return zerolog.Nop() }

// advance moves clock on by by and wakes d, so that it acts at the new time
// at once rather than at its next poll. It returns the new time.
func advance(clock *campaigntest.Clock, d *campaign.Dispatcher, by time.Duration) time.Time {
	at := clock.Advance(by)
	d.Wake()
	return at
}

// manualTime puts the dispatcher on a manual clock that reads the database's
// time now, so that rows written with the database's clock line up with it.
func (h *harness) manualTime() *campaigntest.Clock {
	h.t.Helper()
	var now time.Time
	if err := h.pool.QueryRow(h.ctx, `SELECT now()`).Scan(&now); err != nil {
		h.t.Fatal(err)
	}
	c := campaigntest.NewClock(now)
	h.cfg.Clock = c
	return c
}

// claimSpy records each claim the dispatcher makes: at which time, whether
// it left accounts out, and what it took per account. On a manual clock it
// tells when the dispatcher has done all it may at the clock's reading.
type claimSpy struct {
	campaign.DeliveryStore
	mu      sync.Mutex
	claims  []spiedClaim
	changed chan struct{}
}

type spiedClaim struct {
	now      time.Time
	excluded bool
	took     map[string]int // deliveries per account
}

func newClaimSpy(s campaign.DeliveryStore) *claimSpy {
	return &claimSpy{DeliveryStore: s, changed: make(chan struct{}, 1)}
}

func (s *claimSpy) Claim(ctx context.Context, p campaign.ClaimParams) ([]campaign.Delivery, error) {
	ds, err := s.DeliveryStore.Claim(ctx, p)
	if err != nil {
		return ds, err
	}
	c := spiedClaim{now: p.Now, excluded: len(p.Exclude) > 0, took: map[string]int{}}
	for _, d := range ds {
		c.took[d.WID]++
	}
	s.mu.Lock()
	s.claims = append(s.claims, c)
	s.mu.Unlock()
	select {
	case s.changed <- struct{}{}:
	default:
	}
	return ds, nil
}

// at returns what each claim at time at took per account, in order.
func (s *claimSpy) at(at time.Time) []map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]int
	for _, c := range s.claims {
		if c.now.Equal(at) {
			out = append(out, c.took)
		}
	}
	return out
}

// settle waits until the dispatcher has claimed all it may at time at: a
// claim at that time, leaving no account out, found nothing, and it was not
// the first at that time (so its loop pass read the clock at that time from
// the start, reaping included). It returns what the claims at that time
// took per account.
func (s *claimSpy) settle(t *testing.T, at time.Time) map[string]int {
	t.Helper()
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		took, settled, seen := map[string]int{}, false, 0
		for _, c := range s.claims {
			if !c.now.Equal(at) {
				continue
			}
			for w, n := range c.took {
				took[w] += n
			}
			settled = settled || seen > 0 && !c.excluded && len(c.took) == 0
			seen++
		}
		s.mu.Unlock()
		if settled {
			return took
		}
		select {
		case <-s.changed:
		case <-deadline.C:
			t.Fatalf("the dispatcher never settled at %v", at)
		}
	}
}

// logLines collects JSON log lines, safe for concurrent writers, and
// signals each line on added.
type logLines struct {
	mu    sync.Mutex
	lines []map[string]any
	added chan struct{}
}

func newLogLines() *logLines { return &logLines{added: make(chan struct{}, 1)} }

func (l *logLines) Write(p []byte) (int, error) {
	var m map[string]any
	if err := json.Unmarshal(bytes.TrimSpace(p), &m); err != nil {
		return 0, err
	}
	l.mu.Lock()
	l.lines = append(l.lines, m)
	l.mu.Unlock()
	select {
	case l.added <- struct{}{}:
	default:
	}
	return len(p), nil
}

// take returns the lines written so far and forgets them.
func (l *logLines) take() []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	lines := l.lines
	l.lines = nil
	return lines
}

// with returns the lines whose message is msg.
func (l *logLines) with(msg string) []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, line := range l.lines {
		if line["message"] == msg {
			out = append(out, line)
		}
	}
	return out
}
