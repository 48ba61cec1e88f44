package campaign_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/broadcaster/broadcaster/campaign"
	"github.com/broadcaster/broadcaster/sender/sendertest"
)

const applet = `<appmsg appid="" sdkver="0"><title>Hello {{wcId}}</title><des>run {{runId}}</des></appmsg>`

func TestDispatchSendsEachRecipientOnceAndRecordsEverything(t *testing.T) {
	h := newHarness(t, sendertest.Config{Token: "secret-token", FailFirst: 2, Latency: 2 * time.Millisecond})
	rcpts := append(recipients("wxid_", 150), "room_1@chatroom", "room_2@chatroom")
	id := h.campaign("nightly", "<msg>"+applet+"</msg>", rcpts)
	runs := h.createRuns()
	if len(runs) != 1 || runs[0].Total != len(rcpts) {
		t.Fatalf("runs = %+v", runs)
	}
	h.drain(nil)

	reqs := h.api.Requests()
	sentTo := map[string]sendertest.Request{}
	for _, r := range reqs {
		if r.Rejected != "" {
			t.Fatalf("the fake API rejected a request: %s", r.Rejected)
		}
		if !r.Sent() {
			continue
		}
		if _, dup := sentTo[r.WcID]; dup {
			t.Fatalf("%s was sent twice", r.WcID)
		}
		sentTo[r.WcID] = r
		wantContent := `<appmsg appid="" sdkver="0"><title>Hello ` + r.WcID + `</title><des>run ` + itoa(runs[0].ID) + `</des></appmsg>`
		if r.Content != wantContent || r.WID != "wid-1" || r.ImgURL != "https://cdn.example.com/"+url.QueryEscape(r.WcID)+".jpg" {
			t.Fatalf("request = %+v", r)
		}
	}
	if len(sentTo) != len(rcpts) || len(reqs) != 3*len(rcpts) {
		t.Fatalf("sent to %d of %d recipients in %d requests, want each in 3", len(sentTo), len(rcpts), len(reqs))
	}
	if got := h.api.MaxInFlight(); got > h.cfg.Concurrency {
		t.Errorf("max in flight = %d, above concurrency %d", got, h.cfg.Concurrency)
	}

	rows, err := h.pool.Query(h.ctx, `SELECT wc_id, status, attempts, last_code, msg_id, new_msg_id, create_time, msg_type, w_id,
		(SELECT count(*) FROM delivery_attempts a WHERE a.delivery_id = d.id),
		(SELECT string_agg(code, ',' ORDER BY attempt) FROM delivery_attempts a WHERE a.delivery_id = d.id)
		FROM deliveries d WHERE campaign_id = $1`, id)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rows.Next() {
		var wc, status, code, wid, codes string
		var attempts, msgType int
		var msgID, newMsgID, createTime, nAttempts int64
		if err := rows.Scan(&wc, &status, &attempts, &code, &msgID, &newMsgID, &createTime, &msgType, &wid, &nAttempts, &codes); err != nil {
			t.Fatal(err)
		}
		n++
		api := sentTo[wc]
		if status != "sent" || attempts != 3 || code != "1000" || wid != "wid-1" || nAttempts != 3 || codes != "1001,1001,1000" {
			t.Errorf("%s: status %s attempts %d code %s w_id %s attempt rows %d codes %s", wc, status, attempts, code, wid, nAttempts, codes)
		}
		if msgID != api.MsgID || newMsgID != api.NewMsgID || createTime != api.CreateTime || msgType != 0 {
			t.Errorf("%s: stored ids %d/%d/%d, API answered %d/%d/%d", wc, msgID, newMsgID, createTime, api.MsgID, api.NewMsgID, api.CreateTime)
		}
	}
	if n != len(rcpts) {
		t.Errorf("%d deliveries, want %d", n, len(rcpts))
	}
	if s := h.str(`SELECT c.status || '/' || r.status FROM campaigns c JOIN campaign_runs r ON r.campaign_id = c.id WHERE c.id = $1`, id); s != "completed/completed" {
		t.Errorf("campaign/run = %s, want completed/completed", s)
	}
}

func TestDispatchOutcomes(t *testing.T) {
	h := newHarness(t, sendertest.Config{Faults: map[string]sendertest.Fault{
		"busy":    sendertest.Code("1001", ""),
		"refused": sendertest.Code("1002", "not a friend"),
		"gone":    sendertest.HTTPError(404, ""),
		"html":    sendertest.HTTPError(200, ""),
		"flaky":   sendertest.HTTPError(503, ""),
	}})
	h.campaign("outcomes", applet, []string{"ok", "busy", "refused", "gone", "html", "flaky"})
	h.createRuns()
	h.drain(nil)
	want := map[string]string{
		"ok":      "sent 1",
		"busy":    "failed 4", // retry.max_attempts
		"refused": "failed 1",
		"gone":    "failed 1",
		"html":    "unknown 1",
		"flaky":   "failed 4",
	}
	for wc, w := range want {
		if got := h.str(`SELECT status || ' ' || attempts FROM deliveries WHERE wc_id = $1`, wc); got != w {
			t.Errorf("%s: %s, want %s", wc, got, w)
		}
	}
	if e := h.str(`SELECT last_error FROM deliveries WHERE wc_id = 'busy'`); !strings.HasPrefix(e, "gave up after 4 attempts") {
		t.Errorf("busy last_error = %q", e)
	}
}

func TestDispatchRetriesAmbiguousOnlyWhenAllowed(t *testing.T) {
	for _, allowed := range []bool{false, true} {
		h := newHarness(t, sendertest.Config{Faults: map[string]sendertest.Fault{"cut": sendertest.Cut()}})
		h.cfg.Retry.Ambiguous = allowed
		h.campaign("amb", applet, []string{"cut"})
		h.createRuns()
		h.drain(nil)
		want := map[bool]string{false: "unknown 1", true: "unknown 4"}[allowed]
		if got := h.str(`SELECT status || ' ' || attempts FROM deliveries`); got != want {
			t.Errorf("ambiguous retry %v: %s, want %s", allowed, got, want)
		}
	}
}

func TestInvalidCampaignDoesNotStopItsNeighbours(t *testing.T) {
	h := newHarness(t, sendertest.Config{})
	good := h.campaign("good", applet, []string{"a", "b"})
	bad := map[string]int64{
		"malformed":   h.campaign("malformed", "<appmsg><title></appmsg>", []string{"a"}),
		"no appmsg":   h.campaign("noappmsg", "<msg><title/></msg>", []string{"a"}),
		"placeholder": h.campaign("placeholder", "<appmsg>{{name}}</appmsg>", []string{"a"}),
	}
	ftp := h.campaign("ftp", applet, []string{"a"})
	h.exec(`UPDATE applet_templates SET img_url = 'ftp://x/y.jpg' WHERE name = 'ftp'`)
	bad["ftp"] = ftp
	noWID := h.campaign("nowid", applet, []string{"a"})
	h.exec(`UPDATE campaigns SET w_id = '' WHERE id = $1`, noWID)
	bad["w_id"] = noWID
	noTmpl := h.campaign("notmpl", applet, []string{"a"})
	h.exec(`UPDATE campaigns SET template_id = NULL WHERE id = $1`, noTmpl)
	bad["template"] = noTmpl

	runs := h.createRuns()
	h.drain(nil)
	if len(runs) != 1 || runs[0].CampaignID != good {
		t.Errorf("runs = %+v, want only campaign %d's", runs, good)
	}
	wantErr := map[string]string{
		"malformed":   "not well-formed XML at line 1",
		"no appmsg":   "no <appmsg> element",
		"placeholder": "unknown placeholder {{name}}",
		"ftp":         "not an absolute http(s) URL",
		"w_id":        "w_id is empty",
		"template":    "names no template",
	}
	for name, id := range bad {
		got := h.str(`SELECT status || ': ' || coalesce(error, '') FROM campaigns WHERE id = $1`, id)
		if !strings.HasPrefix(got, "invalid: ") || !strings.Contains(got, wantErr[name]) {
			t.Errorf("%s: %q, want invalid naming %q", name, got, wantErr[name])
		}
	}
	if n := h.int64(`SELECT count(*) FROM deliveries WHERE status = 'sent'`); n != 2 {
		t.Errorf("sent %d, want 2", n)
	}
}

// panicky panics for one recipient, as a bug in a sender might.
type panicky struct{ campaign.Sender }

func (p panicky) Send(ctx context.Context, m campaign.Message) campaign.Attempt {
	if m.WcID == "boom" {
		panic("sender bug")
	}
	return p.Sender.Send(ctx, m)
}

func TestPanicFailsOnlyItsDelivery(t *testing.T) {
	h := newHarness(t, sendertest.Config{})
	h.campaign("p", applet, []string{"a", "boom", "c"})
	h.createRuns()
	h.drain(panicky{h.snd})
	if got := h.str(`SELECT string_agg(wc_id || '=' || status, ',' ORDER BY wc_id) FROM deliveries`); got != "a=sent,boom=failed,c=sent" {
		t.Errorf("deliveries: %s", got)
	}
	if e := h.str(`SELECT last_error FROM deliveries WHERE wc_id = 'boom'`); !strings.Contains(e, "sender bug") {
		t.Errorf("last_error = %q", e)
	}
}

// flakyStore fails the first writes of results, as a restarting database does.
type flakyStore struct {
	campaign.DeliveryStore
	mu       sync.Mutex
	failures int
}

func (f *flakyStore) Record(ctx context.Context, rs []campaign.Result) ([]int64, error) {
	f.mu.Lock()
	fail := f.failures > 0
	f.failures--
	f.mu.Unlock()
	if fail {
		return nil, context.DeadlineExceeded
	}
	return f.DeliveryStore.Record(ctx, rs)
}

func TestResultsSurviveFailedWrites(t *testing.T) {
	h := newHarness(t, sendertest.Config{})
	h.campaign("f", applet, recipients("r", 20))
	h.createRuns()
	store := &flakyStore{DeliveryStore: h.store, failures: 3}
	ctx, cancel := context.WithTimeout(h.ctx, 60*time.Second)
	defer cancel()
	if err := campaign.NewDispatcher(store, h.snd, h.cfg, zerologNop()).Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if n := h.int64(`SELECT count(*) FROM deliveries WHERE status = 'sent' AND attempts = 1`); n != 20 {
		t.Errorf("sent once: %d of 20", n)
	}
	if n := len(h.api.Requests()); n != 20 {
		t.Errorf("API requests = %d, want 20 (nothing resent)", n)
	}
}

func TestGracefulStopRecordsInFlightSends(t *testing.T) {
	h := newHarness(t, sendertest.Config{Latency: 300 * time.Millisecond})
	h.campaign("g", applet, recipients("r", 40))
	h.createRuns()
	ctx, cancel := context.WithCancel(h.ctx)
	done := make(chan error, 1)
	go func() { done <- h.dispatcher(nil).Run(ctx) }()
	wait, stop := context.WithTimeout(h.ctx, 10*time.Second)
	defer stop()
	if err := h.api.Wait(wait, func(s sendertest.Stats) bool { return s.InFlight == h.cfg.Concurrency }); err != nil {
		t.Fatalf("workers never all busy: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := h.int64(`SELECT count(*) FROM deliveries WHERE status = 'sending'`); n != 0 {
		t.Errorf("%d deliveries left sending", n)
	}
	sent := h.int64(`SELECT count(*) FROM deliveries WHERE status = 'sent'`)
	if api := h.api.Stats().Sent; sent != int64(api) || sent < int64(h.cfg.Concurrency) {
		t.Errorf("recorded %d sent, the API sent %d (at least %d were in flight)", sent, api, h.cfg.Concurrency)
	}
	if n := h.int64(`SELECT count(*) FROM deliveries WHERE status = 'pending'`); n != 40-sent {
		t.Errorf("pending = %d, want %d", n, 40-sent)
	}
}

// A stop while the database cannot take results must not look clean: those
// deliveries stay `sending` until another process reaps them.
func TestStopWithResultsNotRecordedIsAnError(t *testing.T) {
	h := newHarness(t, sendertest.Config{})
	h.cfg.StopTimeout = 100 * time.Millisecond
	h.campaign("outage", applet, recipients("r", 3))
	h.createRuns()
	store := &flakyStore{DeliveryStore: h.store, failures: 1 << 30}
	ctx, cancel := context.WithCancel(h.ctx)
	done := make(chan error, 1)
	go func() { done <- campaign.NewDispatcher(store, h.snd, h.cfg, zerologNop()).Run(ctx) }()
	wait, stop := context.WithTimeout(h.ctx, 30*time.Second)
	defer stop()
	if err := h.api.Wait(wait, func(s sendertest.Stats) bool { return s.Sent == 3 }); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; !errors.Is(err, campaign.ErrResultsNotRecorded) {
		t.Errorf("Run = %v, want ErrResultsNotRecorded", err)
	}
}

// downStore is a database that stopped answering.
type downStore struct{ campaign.DeliveryStore }

func (downStore) Claim(context.Context, campaign.ClaimParams) ([]campaign.Delivery, error) {
	return nil, context.DeadlineExceeded
}

func TestDrainGivesUpOnAnUnreachableDatabase(t *testing.T) {
	h := newHarness(t, sendertest.Config{})
	h.cfg.GiveUpAfter = 50 * time.Millisecond
	err := campaign.NewDispatcher(downStore{h.store}, h.snd, h.cfg, zerologNop()).Drain(h.ctx)
	if !errors.Is(err, campaign.ErrDatabaseUnavailable) {
		t.Errorf("Drain = %v, want ErrDatabaseUnavailable", err)
	}
}

// stopMidClaim stops the dispatcher between a claim's commit and its return,
// as a SIGTERM arriving mid-claim does. Like pgx reading rows on a cancelled
// context, it then loses the rows if the claim ran on the stopped context.
type stopMidClaim struct {
	campaign.DeliveryStore
	stop func()
}

func (s stopMidClaim) Claim(ctx context.Context, p campaign.ClaimParams) ([]campaign.Delivery, error) {
	ds, err := s.DeliveryStore.Claim(ctx, p)
	s.stop()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return ds, err
}

// stopMidTemplate stops the dispatcher while templates are being loaded:
// before the claim they are prepared for, or (as it once was) while a
// claimed delivery waited for its run's template.
type stopMidTemplate struct {
	campaign.DeliveryStore
	stop func()
}

func (s stopMidTemplate) OpenTemplates(ctx context.Context, known []int64) ([]campaign.RunTemplate, error) {
	s.stop()
	return s.DeliveryStore.OpenTemplates(ctx, known)
}

// A stop never strands a claimed delivery: what was claimed but not yet
// handed to a request goes back to pending with its attempt given back, and
// a later run sends it.
func TestStopReleasesClaimedButUnsentDeliveries(t *testing.T) {
	tests := []struct {
		name string
		wrap func(campaign.DeliveryStore, func()) campaign.DeliveryStore
	}{
		{"between the claim's commit and its return", func(s campaign.DeliveryStore, stop func()) campaign.DeliveryStore {
			return stopMidClaim{s, stop}
		}},
		{"while templates load", func(s campaign.DeliveryStore, stop func()) campaign.DeliveryStore {
			return stopMidTemplate{s, stop}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, sendertest.Config{})
			h.cfg.Concurrency = 4
			h.campaign("stop", applet, recipients("r", 10))
			h.createRuns()
			ctx, cancel := context.WithCancel(h.ctx)
			defer cancel()
			store := tt.wrap(h.store, cancel)
			if err := campaign.NewDispatcher(store, h.snd, h.cfg, zerologNop()).Run(ctx); err != nil {
				t.Fatalf("Run = %v, want a clean stop", err)
			}
			if n := h.api.Stats().Requests; n != 0 {
				t.Errorf("%d requests after the stop, want none", n)
			}
			if s := h.str(`SELECT string_agg(status || ' ' || attempts || ' ' || coalesce(claimed_by, '-'), ',' ORDER BY id) FROM (
				SELECT DISTINCT ON (status, attempts, claimed_by) * FROM deliveries) d`); s != "pending 0 -" {
				t.Fatalf("deliveries after the stop: %s, want all pending 0 unclaimed", s)
			}
			h.drain(nil)
			if n := h.int64(`SELECT count(*) FROM deliveries WHERE status = 'sent' AND attempts = 1`); n != 10 {
				t.Errorf("%d of 10 sent on their first attempt by the next run", n)
			}
		})
	}
}

// brokenWrites fails every Record from its failFrom-th call on, as a role
// that lost its privileges or a stopped database does, until healed.
type brokenWrites struct {
	campaign.DeliveryStore
	failFrom int
	mu       sync.Mutex
	calls    int
	failed   int
	healed   bool
}

var errWriteRefused = errors.New("permission denied for sequence delivery_attempts_id_seq")

func (b *brokenWrites) Record(ctx context.Context, rs []campaign.Result) ([]int64, error) {
	b.mu.Lock()
	b.calls++
	fail := b.calls >= b.failFrom && !b.healed
	if fail {
		b.failed++
	}
	b.mu.Unlock()
	if fail {
		return nil, errWriteRefused
	}
	return b.DeliveryStore.Record(ctx, rs)
}

func (b *brokenWrites) failures() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.failed
}

func (b *brokenWrites) heal() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.healed = true
}

// Backpressure: while results cannot be written, nothing more is claimed, so
// at most workers.concurrency confirmed sends wait in memory (and could end
// `unknown` if the process died now). Once writes succeed, every result is
// recorded and sending goes on.
func TestNoClaimsWhileResultsCannotBeWritten(t *testing.T) {
	h := newHarness(t, sendertest.Config{})
	h.cfg.Concurrency = 4
	h.cfg.FlushSize = 1 // every result is its own write, so the second one fails
	const n = 200
	h.campaign("backpressure", applet, recipients("r", n))
	h.createRuns()
	store := &brokenWrites{DeliveryStore: h.store, failFrom: 2}
	ctx, cancel := context.WithTimeout(h.ctx, 60*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- campaign.NewDispatcher(store, h.snd, h.cfg, zerologNop()).Drain(ctx) }()

	// Let the recorder fail a few times: long enough for any claim that
	// was going to happen to have happened.
	eventually(t, func() bool { return store.failures() >= 3 })
	unrecorded := int64(h.api.Stats().Sent) - h.int64(`SELECT count(*) FROM deliveries WHERE status = 'sent'`)
	if unrecorded > int64(h.cfg.Concurrency) {
		t.Errorf("%d sends confirmed by the API but not recorded while writes failed, want at most concurrency %d",
			unrecorded, h.cfg.Concurrency)
	}

	store.heal()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := h.int64(`SELECT count(*) FROM deliveries WHERE status = 'sent' AND attempts = 1`); got != n {
		t.Errorf("%d of %d recorded sent on their first attempt", got, n)
	}
	if got := h.api.Stats().Requests; got != n {
		t.Errorf("API requests = %d, want %d (nothing resent)", got, n)
	}
}
