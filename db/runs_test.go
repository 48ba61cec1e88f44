package db_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/broadcaster/broadcaster/campaign"
)

func TestCreateRunResolvesAudience(t *testing.T) {
	f := newFixture(t)
	vip := f.list("bob", "carol", "room1@chatroom", "spam_me")
	other := f.list("carol", "dave")
	f.exec(`INSERT INTO suppressions (wc_id, reason) VALUES ('spam_me', 'asked to stop'), ('eve', '')`)
	id := f.campaign([]string{"alice", "bob", "eve", "", " padded", "tab\tin", "ctl\x01x", fmt.Sprintf("%0129d", 0)}, vip, other)

	run := f.run(id)
	if run.Total != 12 || run.Skipped != 7 {
		t.Errorf("run total/skipped = %d/%d, want 12/7", run.Total, run.Skipped)
	}
	want := map[string][2]string{
		"alice":                  {"pending", ""},
		"bob":                    {"pending", ""},
		"carol":                  {"pending", ""},
		"dave":                   {"pending", ""},
		"room1@chatroom":         {"pending", ""},
		"spam_me":                {"skipped", "suppressed: asked to stop"},
		"eve":                    {"skipped", "suppressed"},
		"":                       {"skipped", "invalid wcId: empty"},
		" padded":                {"skipped", "invalid wcId: leading or trailing whitespace"},
		"tab\tin":                {"skipped", "invalid wcId: control character"},
		"ctl\x01x":               {"skipped", "invalid wcId: control character"},
		fmt.Sprintf("%0129d", 0): {"skipped", "invalid wcId: longer than 128 characters"},
	}
	rows, err := f.pool.Query(f.ctx, `SELECT wc_id, status, coalesce(last_error, '') FROM deliveries WHERE run_id = $1`, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][2]string{}
	for rows.Next() {
		var wc, status, lastErr string
		if err := rows.Scan(&wc, &status, &lastErr); err != nil {
			t.Fatal(err)
		}
		if _, dup := got[wc]; dup {
			t.Errorf("recipient %q has two deliveries", wc)
		}
		got[wc] = [2]string{status, lastErr}
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	for wc, w := range want {
		if got[wc] != w {
			t.Errorf("delivery %q = %v, want %v", wc, got[wc], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %d deliveries, want %d: %v", len(got), len(want), got)
	}
}

func TestCreateRunOncePerFiring(t *testing.T) {
	f := newFixture(t)
	id := f.campaign([]string{"a", "b"})
	at := time.Date(2026, 11, 25, 2, 0, 0, 0, time.UTC)
	if _, err := f.store.CreateRun(f.ctx, id, at); err != nil {
		t.Fatal(err)
	}
	_, err := f.store.CreateRun(f.ctx, id, at)
	if !errors.Is(err, campaign.ErrRunExists) {
		t.Fatalf("second CreateRun error = %v, want ErrRunExists", err)
	}
	if n := f.int64(`SELECT count(*) FROM deliveries WHERE campaign_id = $1`, id); n != 2 {
		t.Errorf("deliveries = %d, want 2", n)
	}
}

func TestCreateRunWithNobodyToSendCompletes(t *testing.T) {
	f := newFixture(t)
	f.exec(`INSERT INTO suppressions (wc_id) VALUES ('x')`)
	id := f.campaign([]string{"x"})
	run := f.run(id)
	if run.Status != campaign.RunCompleted {
		t.Errorf("run status = %s, want completed", run.Status)
	}
	if s := f.str(`SELECT status FROM campaigns WHERE id = $1`, id); s != "completed" {
		t.Errorf("campaign status = %s, want completed", s)
	}
}

func TestDueOneShots(t *testing.T) {
	f := newFixture(t)
	due := f.campaign([]string{"a"})
	noTemplate := f.int64(`INSERT INTO campaigns (name, w_id, recipients, start_at) VALUES ('nt', 'w', '{a}', now() - interval '1 minute') RETURNING id`)
	later := f.campaign([]string{"a"})
	f.exec(`UPDATE campaigns SET start_at = now() + interval '1 hour' WHERE id = $1`, later)
	paused := f.campaign([]string{"a"})
	f.exec(`UPDATE campaigns SET status = 'paused' WHERE id = $1`, paused)
	recurring := f.campaign([]string{"a"})
	f.exec(`UPDATE campaigns SET schedule = '@daily' WHERE id = $1`, recurring)
	hasRun := f.campaign([]string{"a"})
	f.run(hasRun)

	cs, err := f.store.DueOneShots(f.ctx, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	got := map[int64]campaign.CampaignRow{}
	for _, c := range cs {
		got[c.ID] = c
	}
	if len(got) != 2 {
		t.Fatalf("due campaigns = %v, want %d and %d", cs, due, noTemplate)
	}
	if c := got[due]; c.Template == nil || c.Template.ImgURL != "https://cdn.example.com/a.jpg" || c.WID != "w1" {
		t.Errorf("due campaign read wrong: %+v", c)
	}
	if c, ok := got[noTemplate]; !ok || c.Template != nil {
		t.Errorf("campaign without template: %+v, present %v", c, ok)
	}

	if err := f.store.MarkInvalid(f.ctx, noTemplate, "no template"); err != nil {
		t.Fatal(err)
	}
	if s := f.str(`SELECT status || ': ' || error FROM campaigns WHERE id = $1`, noTemplate); s != "invalid: no template" {
		t.Errorf("after MarkInvalid: %s", s)
	}
}

// TestDueRowsHoldAnyValue: the due queries read what the domain must judge
// as it is — infinities, a blank schedule, lists that do not exist — and a
// row holding any of them reads without error beside the others.
func TestDueRowsHoldAnyValue(t *testing.T) {
	f := newFixture(t)
	good := f.campaign([]string{"a"})
	blank := f.campaign([]string{"a"})
	f.exec(`UPDATE campaigns SET schedule = '  ' WHERE id = $1`, blank)
	never := f.campaign([]string{"a"})
	f.exec(`UPDATE campaigns SET start_at = 'infinity', end_at = '-infinity' WHERE id = $1`, never)
	list := f.list("b")
	lists := f.campaign([]string{"a"}, list, list+7, list+5, list+7)
	nullList := f.campaign([]string{"a"})
	f.exec(`UPDATE campaigns SET list_ids = ARRAY[NULL, $2]::bigint[] WHERE id = $1`, nullList, list)
	forever := recurringCampaign(f, "@daily", "a")
	f.exec(`UPDATE campaigns SET end_at = 'infinity' WHERE id = $1`, forever)
	f.exec(`INSERT INTO campaign_runs (campaign_id, scheduled_for, status) VALUES ($1, 'infinity', 'cancelled')`, forever)

	oneShots, err := f.store.DueOneShots(f.ctx, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	got := map[int64]campaign.CampaignRow{}
	for _, r := range oneShots {
		got[r.ID] = r
	}
	if r := got[good]; len(got) != 5 || r.Schedule != nil || !r.StartAt.Valid || r.StartAt.Infinity != 0 || r.EndAt.Valid ||
		r.TemplateID == nil || r.Template == nil || *r.TemplateID != r.Template.ID || len(r.MissingLists) != 0 || r.NullListID {
		t.Errorf("good campaign read as %+v; %d rows", r, len(got))
	}
	if r := got[blank]; r.Schedule == nil || *r.Schedule != "  " {
		t.Errorf("blank schedule read as %v", r.Schedule)
	}
	if r := got[never]; r.StartAt != (campaign.Timestamp{Infinity: 1, Valid: true}) || r.EndAt != (campaign.Timestamp{Infinity: -1, Valid: true}) {
		t.Errorf("infinite timestamps read as %+v, %+v", r.StartAt, r.EndAt)
	}
	if r := got[lists]; fmt.Sprint(r.MissingLists) != fmt.Sprint([]int64{list + 5, list + 7}) || r.NullListID {
		t.Errorf("missing lists read as %v, NULL %v", r.MissingLists, r.NullListID)
	}
	if r := got[nullList]; len(r.MissingLists) != 0 || !r.NullListID {
		t.Errorf("NULL list read as %v, NULL %v", r.MissingLists, r.NullListID)
	}

	recurring, err := f.store.DueRecurring(f.ctx, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	inf := campaign.Timestamp{Infinity: 1, Valid: true}
	if len(recurring) != 1 || recurring[0].ID != forever || recurring[0].EndAt != inf || recurring[0].LastFiring != inf {
		t.Errorf("recurring rows = %+v", recurring)
	}
}

// TestCreateRunRecipientTooLong: a recipient too long for the deliveries
// index is the campaign's problem, said as the domain says it, not a
// database error that would come back at every tick.
func TestCreateRunRecipientTooLong(t *testing.T) {
	f := newFixture(t)
	id := f.campaign([]string{"a"})
	f.exec(`UPDATE campaigns SET recipients = ARRAY['a', (SELECT string_agg(md5(i::text), '') FROM generate_series(1, 100) i)] WHERE id = $1`, id)
	_, err := f.store.CreateRun(f.ctx, id, time.Now())
	var ie *campaign.InvalidError
	if !errors.As(err, &ie) || ie.Column != "recipients" {
		t.Fatalf("CreateRun error = %v, want an InvalidError naming recipients", err)
	}
	if n := f.int64(`SELECT count(*) FROM campaign_runs WHERE campaign_id = $1`, id); n != 0 {
		t.Errorf("%d runs left behind", n)
	}
}
