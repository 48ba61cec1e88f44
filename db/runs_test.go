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
