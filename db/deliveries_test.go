package db_test

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/broadcaster/broadcaster/campaign"
	"github.com/broadcaster/broadcaster/db"
)

func TestClaimTakesDueDeliveriesOfActiveCampaignsOnce(t *testing.T) {
	f := newFixture(t)
	var want []string
	for i := range 50 {
		want = append(want, "r"+itoa(int64(i)))
	}
	id := f.campaign(want)
	f.run(id)
	paused := f.campaign([]string{"p1", "p2"})
	f.run(paused)
	f.exec(`UPDATE campaigns SET status = 'paused' WHERE id = $1`, paused)
	f.exec(`UPDATE campaigns SET w_id = 'w2' WHERE id = $1`, id) // a re-login mid-run

	var (
		mu  sync.Mutex
		got []string
		wg  sync.WaitGroup
	)
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				ds, err := f.store.Claim(f.ctx, campaign.ClaimParams{EnsureAccounts: true, Limit: 3, Lease: time.Minute})
				if err != nil {
					t.Error(err)
					return
				}
				if len(ds) == 0 {
					// Another claimer may hold the account's row (SKIP
					// LOCKED): only an empty claim with nothing pending ends.
					var pending int
					if err := f.pool.QueryRow(f.ctx, `SELECT count(*) FROM deliveries WHERE status = 'pending' AND campaign_id = $1`, id).Scan(&pending); err != nil || pending == 0 {
						return
					}
					continue
				}
				mu.Lock()
				for _, d := range ds {
					got = append(got, d.WcID)
					if d.WID != "w2" || d.Attempt != 1 || d.CampaignID != id {
						t.Errorf("claimed %+v, want w_id w2, attempt 1, campaign %d", d, id)
					}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("claimed %v, want each of %v exactly once", got, want)
	}
	if s := f.str(`SELECT string_agg(DISTINCT status, ',') FROM campaign_runs WHERE campaign_id = $1`, id); s != "running" {
		t.Errorf("run status after claim = %s, want running", s)
	}
	if n := f.int64(`SELECT count(*) FROM deliveries WHERE status = 'sending' AND claimed_by = 'test:1' AND lease_until > now()`); n != 50 {
		t.Errorf("leased deliveries = %d, want 50", n)
	}
}

func TestRecordResults(t *testing.T) {
	f := newFixture(t)
	id := f.campaign([]string{"ok", "busy", "bad", "lost"})
	run := f.run(id)
	ds := f.claim(10)
	by := map[string]campaign.Delivery{}
	for _, d := range ds {
		by[d.WcID] = d
	}
	start := time.Date(2026, 11, 25, 2, 0, 0, 0, time.UTC)
	sent := campaign.Result{Delivery: by["ok"], Status: campaign.DeliverySent, Attempt: campaign.Attempt{
		Outcome: campaign.OutcomeSent, StartedAt: start, Duration: 120 * time.Millisecond, HTTPStatus: 200, Code: "1000",
		Response: `{"code":"1000"}`,
		Receipt:  &campaign.Receipt{MsgType: 0, MsgID: 697760545, NewMsgID: 7645748705605226305, CreateTime: 1641458149, WcID: "ok"},
	}}
	busy := campaign.Result{Delivery: by["busy"], Status: campaign.DeliveryPending, RetryIn: time.Hour, Error: "code 1001: 失败",
		Attempt: campaign.Attempt{Outcome: campaign.OutcomeRetry, StartedAt: start, HTTPStatus: 200, Code: "1001", Error: "code 1001: 失败", Response: "bad\x00utf8\xff"}}
	bad := campaign.Result{Delivery: by["bad"], Status: campaign.DeliveryFailed, Error: "code 1002: nope",
		Attempt: campaign.Attempt{Outcome: campaign.OutcomeFailed, StartedAt: start, Code: "1002", Error: "code 1002: nope"}}
	lost := campaign.Result{Delivery: by["lost"], Status: campaign.DeliveryUnknown, Error: "timeout",
		Attempt: campaign.Attempt{Outcome: campaign.OutcomeAmbiguous, StartedAt: start, Error: "timeout"}}

	if done := f.record(sent, busy, bad, lost); len(done) != 0 {
		t.Errorf("run completed with a delivery pending: %v", done)
	}
	if done := f.record(sent, busy, bad, lost); len(done) != 0 { // a retried batch changes nothing
		t.Errorf("second record completed %v", done)
	}
	if n := f.int64(`SELECT count(*) FROM delivery_attempts`); n != 4 {
		t.Errorf("attempt rows = %d, want 4", n)
	}
	var newMsgID, msgID, createTime int64
	var sentAt time.Time
	err := f.pool.QueryRow(f.ctx, `SELECT new_msg_id, msg_id, create_time, sent_at FROM deliveries WHERE id = $1`, by["ok"].ID).
		Scan(&newMsgID, &msgID, &createTime, &sentAt)
	if err != nil {
		t.Fatal(err)
	}
	if newMsgID != 7645748705605226305 || msgID != 697760545 || createTime != 1641458149 || !sentAt.Equal(start.Add(120*time.Millisecond)) {
		t.Errorf("sent delivery = %d %d %d %v", newMsgID, msgID, createTime, sentAt)
	}
	if s := f.str(`SELECT new_msg_id::text FROM deliveries WHERE id = $1`, by["ok"].ID); s != "7645748705605226305" {
		t.Errorf("new_msg_id in SQL = %s", s)
	}
	if s := f.str(`SELECT status || '|' || last_code || '|' || last_error || '|' || (next_attempt_at > now() + interval '50 minutes') FROM deliveries WHERE id = $1`, by["busy"].ID); s != "pending|1001|code 1001: 失败|true" {
		t.Errorf("retried delivery = %s", s)
	}
	if s := f.str(`SELECT response FROM delivery_attempts WHERE delivery_id = $1`, by["busy"].ID); s != "bad\uFFFDutf8\uFFFD" {
		t.Errorf("stored response = %q", s)
	}

	// The retry is due; claim it again and let it succeed: the run and the
	// one-shot campaign complete.
	f.exec(`UPDATE deliveries SET next_attempt_at = now() WHERE id = $1`, by["busy"].ID)
	again := f.claim(10)
	if len(again) != 1 || again[0].Attempt != 2 {
		t.Fatalf("reclaimed %+v, want busy at attempt 2", again)
	}
	ok2 := sent
	ok2.Delivery = again[0]
	ok2.Attempt.Receipt = &campaign.Receipt{MsgID: 2, NewMsgID: 9223372036854775807, CreateTime: 3}
	if done := f.record(ok2); !slices.Equal(done, []int64{run.ID}) {
		t.Errorf("completed runs = %v, want [%d]", done, run.ID)
	}
	if s := f.str(`SELECT status FROM campaigns WHERE id = $1`, id); s != "completed" {
		t.Errorf("campaign = %s, want completed", s)
	}
	var total, nSent, failed, unknown, pending, attempts int64
	var rate float64
	err = f.pool.QueryRow(f.ctx, `SELECT total, sent, failed, unknown, pending, attempts, success_rate FROM campaign_run_summary WHERE run_id = $1`, run.ID).
		Scan(&total, &nSent, &failed, &unknown, &pending, &attempts, &rate)
	if err != nil {
		t.Fatal(err)
	}
	if total != 4 || nSent != 2 || failed != 1 || unknown != 1 || pending != 0 || attempts != 5 || rate != 0.5 {
		t.Errorf("summary = total %d sent %d failed %d unknown %d pending %d attempts %d rate %v", total, nSent, failed, unknown, pending, attempts, rate)
	}
}

func TestLateResultOfAnOldAttemptIsIgnored(t *testing.T) {
	f := newFixture(t)
	f.run(f.campaign([]string{"a"}))
	first := f.claim(1)[0]
	f.exec(`UPDATE deliveries SET status = 'pending', next_attempt_at = now() WHERE id = $1`, first.ID)
	second := f.claim(1)[0]
	stale := campaign.Result{Delivery: first, Status: campaign.DeliveryFailed, Attempt: campaign.Attempt{Outcome: campaign.OutcomeFailed, StartedAt: time.Now()}}
	f.record(stale)
	if s := f.str(`SELECT status FROM deliveries WHERE id = $1`, second.ID); s != "sending" {
		t.Errorf("a late result of attempt 1 changed attempt 2's delivery to %s", s)
	}
}

func TestReapExpiredLeases(t *testing.T) {
	tests := []struct {
		name        string
		p           campaign.ReapParams
		attempts    int // the expired delivery's attempts so far
		want        string
		wantDelayed bool
	}{
		{"unknown", campaign.ReapParams{MaxAttempts: 5}, 1, "unknown", false},
		{"retried", campaign.ReapParams{RetryAmbiguous: true, MaxAttempts: 5, Delay: time.Hour}, 1, "pending", true},
		{"no attempts left", campaign.ReapParams{RetryAmbiguous: true, MaxAttempts: 5, Delay: time.Hour}, 5, "unknown", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			run := f.run(f.campaign([]string{"a", "b", "c"}))
			other := *f
			other.store = db.NewStore(f.pool, "other:2") // a process that died
			expired, err := other.store.Claim(f.ctx, campaign.ClaimParams{EnsureAccounts: true, Limit: 1, Lease: -time.Second})
			if err != nil || len(expired) != 1 {
				t.Fatal(expired, err)
			}
			f.exec(`UPDATE deliveries SET attempts = $2 WHERE id = $1`, expired[0].ID, tt.attempts)
			mine, err := f.store.Claim(f.ctx, campaign.ClaimParams{EnsureAccounts: true, Limit: 1, Lease: -time.Second})
			if err != nil || len(mine) != 1 {
				t.Fatal(mine, err)
			}
			f.claim(1) // leased and alive

			tt.p.Holding = []int64{mine[0].ID} // expired, but this process still holds it
			n, err := f.store.Reap(f.ctx, tt.p)
			if err != nil || n != 1 {
				t.Fatalf("Reap = %d, %v; want 1: never a claim this process holds", n, err)
			}
			if s := f.str(`SELECT status FROM deliveries WHERE id = $1`, expired[0].ID); s != tt.want {
				t.Errorf("reaped delivery is %s, want %s", s, tt.want)
			}
			if n := f.int64(`SELECT count(*) FROM deliveries WHERE run_id = $1 AND status = 'sending'`, run.ID); n != 2 {
				t.Errorf("%d deliveries still sending, want this process's 2", n)
			}
			var delayed bool
			if err := f.pool.QueryRow(f.ctx, `SELECT next_attempt_at > now() + interval '50 minutes' FROM deliveries WHERE id = $1`, expired[0].ID).Scan(&delayed); err != nil {
				t.Fatal(err)
			}
			if tt.wantDelayed && !delayed {
				t.Error("a reaped delivery may be claimed again at once, before its holder could record it")
			}
		})
	}
}

// A claim of this process that committed but whose rows never reached it
// (the database restarted mid-claim, the claim timed out after its commit)
// is not in the held list: once its lease ran out it goes back to pending
// with its attempt given back, since no request can have been made for it,
// whatever retry.ambiguous says. Held claims, live leases and other
// processes' claims keep their rules.
func TestReapGivesBackOwnClaimsThatNeverArrived(t *testing.T) {
	tests := []struct {
		name      string
		ambiguous bool
		theirs    string // what becomes of the other process's expired claim
	}{
		{"no ambiguous retries", false, "unknown 1"},
		{"ambiguous retries", true, "pending 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			run := f.run(f.campaign([]string{"held", "lost", "live", "theirs"}))
			claim := func(s *db.Store, wcID string, lease time.Duration) campaign.Delivery {
				t.Helper()
				f.exec(`UPDATE deliveries SET next_attempt_at = CASE WHEN wc_id = $1 THEN now() - interval '1 hour' ELSE now() + interval '1 hour' END
					WHERE status = 'pending'`, wcID)
				ds, err := s.Claim(f.ctx, campaign.ClaimParams{EnsureAccounts: true, Limit: 1, Lease: lease})
				if err != nil || len(ds) != 1 || ds[0].WcID != wcID {
					t.Fatalf("claim %s: %v, %v", wcID, ds, err)
				}
				return ds[0]
			}
			held := claim(f.store, "held", -time.Second)
			claim(f.store, "lost", -time.Second) // its rows "never arrived": not held
			claim(f.store, "live", time.Minute)
			claim(db.NewStore(f.pool, "other:2"), "theirs", -time.Second)

			n, err := f.store.Reap(f.ctx, campaign.ReapParams{RetryAmbiguous: tt.ambiguous, MaxAttempts: 5, Delay: time.Hour, Holding: []int64{held.ID}})
			if err != nil || n != 2 {
				t.Fatalf("Reap = %d, %v; want 2 (the lost claim and the other process's)", n, err)
			}
			got := f.str(`SELECT string_agg(wc_id || '=' || status || ' ' || attempts || ' ' || coalesce(claimed_by, '-')
				|| CASE WHEN next_attempt_at <= now() THEN ' due' ELSE ' later' END, ',' ORDER BY wc_id)
				FROM deliveries WHERE run_id = $1`, run.ID)
			want := "held=sending 1 test:1 due,live=sending 1 test:1 due,lost=pending 0 - due,theirs=" + tt.theirs + " - later"
			if got != want {
				t.Errorf("after Reap:\n got %s\nwant %s", got, want)
			}
		})
	}
}

func TestAttemptOfADeletedDeliveryDoesNotBlockTheBatch(t *testing.T) {
	f := newFixture(t)
	gone := f.campaign([]string{"a"})
	f.run(gone)
	kept := f.campaign([]string{"b"})
	f.run(kept)
	ds := f.claim(10)
	f.exec(`DELETE FROM campaigns WHERE id = $1`, gone)
	var rs []campaign.Result
	for _, d := range ds {
		rs = append(rs, campaign.Result{Delivery: d, Status: campaign.DeliverySent, Attempt: campaign.Attempt{
			Outcome: campaign.OutcomeSent, StartedAt: time.Now(), Code: "1000", Receipt: &campaign.Receipt{MsgID: 1, NewMsgID: 2}}})
	}
	f.record(rs...)
	if s := f.str(`SELECT status FROM deliveries WHERE campaign_id = $1`, kept); s != "sent" {
		t.Errorf("the other delivery is %s, want sent", s)
	}
}

func TestLateRetryResultDoesNotReopenAnEndedRun(t *testing.T) {
	f := newFixture(t)
	id := f.campaign([]string{"a"})
	run := f.run(id)
	d := f.claim(1)[0]
	// Reaped as unknown while this process could not record, and the run
	// completed; then the result arrives: the API had answered 1001.
	f.exec(`UPDATE deliveries SET status = 'unknown' WHERE id = $1`, d.ID)
	f.exec(`UPDATE campaign_runs SET status = 'completed' WHERE id = $1`, run.ID)
	f.record(campaign.Result{Delivery: d, Status: campaign.DeliveryPending, RetryIn: time.Second, Error: "code 1001",
		Attempt: campaign.Attempt{Outcome: campaign.OutcomeRetry, StartedAt: time.Now(), Code: "1001"}})
	if s := f.str(`SELECT status || ': ' || last_error FROM deliveries WHERE id = $1`, d.ID); s != "failed: code 1001 (not retried: its run had ended)" {
		t.Errorf("delivery = %s", s)
	}
}

func TestReapSkipsRecipientsSuppressedMidRun(t *testing.T) {
	f := newFixture(t)
	run := f.run(f.campaign([]string{"a", "b"}))
	f.exec(`INSERT INTO suppressions (wc_id, reason) VALUES ('b', 'asked to stop')`)
	if _, err := f.store.Reap(f.ctx, campaign.ReapParams{MaxAttempts: 1}); err != nil {
		t.Fatal(err)
	}
	if s := f.str(`SELECT string_agg(wc_id || '=' || status || coalesce(' ' || last_error, ''), ',' ORDER BY wc_id) FROM deliveries WHERE run_id = $1`, run.ID); s != "a=pending,b=skipped suppressed: asked to stop" {
		t.Errorf("deliveries: %s", s)
	}
}

func TestOutstanding(t *testing.T) {
	f := newFixture(t)
	o, err := f.store.Outstanding(f.ctx, campaign.OutstandingParams{})
	if err != nil || !o.Done() {
		t.Fatalf("empty database: %+v, %v", o, err)
	}
	f.run(f.campaign([]string{"a", "b", "c"}))
	f.claim(1)
	t0 := f.now()
	f.exec(`UPDATE deliveries SET next_attempt_at = $1::timestamptz + interval '10 seconds' WHERE status = 'pending'`, t0)
	o, err = f.store.Outstanding(f.ctx, campaign.OutstandingParams{Now: t0.Add(4 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	if o.Pending != 1 || o.Sending != 1 || o.NextDue != 6*time.Second {
		t.Errorf("Outstanding 4s later = %+v, want 1 pending due in 6s and 1 sending", o)
	}
}

// Leases are judged by the clock the dispatcher passes, so a test can let
// one run out without waiting.
func TestReapJudgesLeasesByTheGivenTime(t *testing.T) {
	f := newFixture(t)
	f.run(f.campaign([]string{"a"}))
	other := *f
	other.store = db.NewStore(f.pool, "other:2") // a process that died
	t0 := f.now()
	if ds, err := other.store.Claim(f.ctx, campaign.ClaimParams{EnsureAccounts: true, Limit: 1, Lease: time.Minute, Now: t0}); err != nil || len(ds) != 1 {
		t.Fatal(ds, err)
	}
	p := campaign.ReapParams{RetryAmbiguous: true, MaxAttempts: 3, Delay: time.Minute, Now: t0.Add(59 * time.Second)}
	if n, err := f.store.Reap(f.ctx, p); err != nil || n != 0 {
		t.Fatalf("Reap within the lease = %d, %v; want 0", n, err)
	}
	p.Now = t0.Add(61 * time.Second)
	if n, err := f.store.Reap(f.ctx, p); err != nil || n != 1 {
		t.Fatalf("Reap after the lease = %d, %v; want 1", n, err)
	}
	var due time.Time
	if err := f.pool.QueryRow(f.ctx, `SELECT next_attempt_at FROM deliveries`).Scan(&due); err != nil {
		t.Fatal(err)
	}
	if want := p.Now.Add(time.Minute); !due.Equal(want) {
		t.Errorf("returned delivery due at %v, want %v: the reap's time plus the delay", due, want)
	}
}

// TestRecordKeepsOverflowingIDs: an id the API sent that does not fit bigint
// reaches receipt_overflow exactly, next to the ids that fit; the column is
// NULL when every id fits.
func TestRecordKeepsOverflowingIDs(t *testing.T) {
	f := newFixture(t)
	f.run(f.campaign([]string{"big", "odd", "fits"}))
	by := map[string]campaign.Delivery{}
	for _, d := range f.claim(10) {
		by[d.WcID] = d
	}
	sent := func(wcID string, rc campaign.Receipt) campaign.Result {
		return campaign.Result{Delivery: by[wcID], Status: campaign.DeliverySent, Attempt: campaign.Attempt{
			Outcome: campaign.OutcomeSent, StartedAt: time.Now(), HTTPStatus: 200, Code: "1000", Receipt: &rc}}
	}
	f.record(
		sent("big", campaign.Receipt{MsgID: 697760545, CreateTime: 1641458149,
			Overflow: map[string]string{"newMsgId": "18446744073709551615"}}),
		sent("odd", campaign.Receipt{MsgType: 0,
			Overflow: map[string]string{"msgId": "7.645748705605226e18", "newMsgId": "n/a\x00", "createTime": `{"a": "<b>"}`}}),
		sent("fits", campaign.Receipt{MsgID: 1, NewMsgID: 7645748705605226305, CreateTime: 3}),
	)
	tests := []struct {
		wcID, want string
	}{
		{"big", `697760545|NULL|1641458149|0|{"newMsgId": "18446744073709551615"}`},
		{"odd", `NULL|NULL|NULL|0|{"msgId": "7.645748705605226e18", "newMsgId": "n/a` + "\uFFFD" + `", "createTime": "{\"a\": \"<b>\"}"}`},
		{"fits", `1|7645748705605226305|3|0|NULL`},
	}
	for _, tt := range tests {
		got := f.str(`SELECT concat_ws('|', coalesce(msg_id::text, 'NULL'), coalesce(new_msg_id::text, 'NULL'),
			coalesce(create_time::text, 'NULL'), msg_type, coalesce(receipt_overflow::text, 'NULL'))
			FROM deliveries WHERE id = $1`, by[tt.wcID].ID)
		if got != tt.want {
			t.Errorf("%s: msg_id|new_msg_id|create_time|msg_type|receipt_overflow = %s, want %s", tt.wcID, got, tt.want)
		}
	}
	if s := f.str(`SELECT receipt_overflow->>'newMsgId' FROM deliveries WHERE id = $1`, by["big"].ID); s != "18446744073709551615" {
		t.Errorf("receipt_overflow->>'newMsgId' = %s", s)
	}
}

func TestReleaseGivesBackOnlyThisProcesssUnsentClaims(t *testing.T) {
	f := newFixture(t)
	f.run(f.campaign([]string{"a", "b", "c", "d"}))
	mine := f.claim(3)
	other := *f
	other.store = db.NewStore(f.pool, "other:2")
	theirs := other.claim(1)
	sent := mine[2]
	f.record(campaign.Result{Delivery: sent, Status: campaign.DeliverySent, Attempt: campaign.Attempt{
		Outcome: campaign.OutcomeSent, StartedAt: time.Now(), Code: "1000"}})
	stale := mine[1]
	stale.Attempt++ // a claim this process no longer holds at that attempt

	n, err := f.store.Release(f.ctx, []campaign.Delivery{mine[0], stale, sent, theirs[0]})
	if err != nil || n != 1 {
		t.Fatalf("Release = %d, %v; want only the one unsent claim held as given", n, err)
	}
	got := f.str(`SELECT string_agg(wc_id || '=' || status || ' ' || attempts || ' ' || coalesce(claimed_by, '-') || ' ' || (lease_until IS NULL),
		',' ORDER BY wc_id) FROM deliveries`)
	want := map[string]string{
		mine[0].WcID:   "pending 0 - true",
		stale.WcID:     "sending 1 test:1 false",
		sent.WcID:      "sent 1 - true",
		theirs[0].WcID: "sending 1 other:2 false",
	}
	for _, part := range strings.Split(got, ",") {
		wc, state, _ := strings.Cut(part, "=")
		if want[wc] != state {
			t.Errorf("%s: %s, want %s", wc, state, want[wc])
		}
	}
	if again := f.claim(10); len(again) != 1 || again[0].ID != mine[0].ID || again[0].Attempt != 1 {
		t.Errorf("claim after release = %+v, want the released delivery at attempt 1", again)
	}
}

func TestOpenTemplatesAreThoseOfRunsThatMaySend(t *testing.T) {
	f := newFixture(t)
	open := f.run(f.campaign([]string{"a"}))
	known := f.run(f.campaign([]string{"a"}))
	noTemplate := f.campaign([]string{"a"})
	bare := f.run(noTemplate)
	f.exec(`UPDATE campaigns SET template_id = NULL WHERE id = $1`, noTemplate)
	paused := f.campaign([]string{"a"})
	pausedRun := f.run(paused)
	f.exec(`UPDATE campaigns SET status = 'paused' WHERE id = $1`, paused)
	done := f.campaign([]string{"a"})
	doneRun := f.run(done)
	f.exec(`UPDATE campaign_runs SET status = 'completed' WHERE id = $1`, doneRun.ID)

	// The caller holds known (open), the completed run and the paused
	// campaign's run: the last two are named closed, known not at all.
	rts, err := f.store.OpenTemplates(f.ctx, []int64{known.ID, doneRun.ID, pausedRun.ID})
	if err != nil {
		t.Fatal(err)
	}
	got := map[int64]campaign.RunTemplate{}
	for _, rt := range rts {
		got[rt.RunID] = rt
	}
	if len(got) != 4 || got[open.ID].Template == nil || got[open.ID].Template.Content != "<appmsg><title>{{wcId}}</title></appmsg>" {
		t.Fatalf("OpenTemplates = %+v, want the 2 new open runs of sending campaigns, run %d with its template, and 2 closed", rts, open.ID)
	}
	if rt := got[bare.ID]; rt.Template != nil || rt.Closed {
		t.Errorf("run of a campaign naming no template: %+v; want it listed open, without a template", rt)
	}
	if _, listed := got[known.ID]; listed {
		t.Errorf("run the caller holds, still open: listed %+v, want it left out", got[known.ID])
	}
	for _, id := range []int64{doneRun.ID, pausedRun.ID} {
		if rt := got[id]; !rt.Closed || rt.Template != nil {
			t.Errorf("run %d the caller holds, no longer sending: %+v; want it named closed, without a template", id, rt)
		}
	}
	if all, err := f.store.OpenTemplates(f.ctx, nil); err != nil || len(all) != 3 || all[0].Closed {
		t.Errorf("OpenTemplates(nil) = %+v, %v; want the 3 open runs of sending campaigns, none closed", all, err)
	}
}
