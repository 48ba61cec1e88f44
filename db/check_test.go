package db_test

import (
	"reflect"
	"testing"

	"github.com/broadcaster/broadcaster/campaign"
	"github.com/broadcaster/broadcaster/db"
)

// checkCampaign inserts a campaign the way operators do and returns its id.
func (f *fixture) checkCampaign(name, status string, recipients []string, lists []int64) int64 {
	f.t.Helper()
	if lists == nil {
		lists = []int64{}
	}
	if recipients == nil {
		recipients = []string{}
	}
	return f.int64(`INSERT INTO campaigns (name, template_id, w_id, recipients, list_ids, status, start_at)
		VALUES ($1, $2, 'w1', $3, $4, $5, now() + interval '1 day') RETURNING id`,
		name, f.template(), recipients, lists, status)
}

func TestCheckAudiences(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.exec(`INSERT INTO suppressions (wc_id, reason) VALUES ('wxid_s', 'opted out'), ('bad id', 'both')`)
	vip := f.list("wxid_a", "wxid_b", "wxid_s")
	empty := f.list()
	f.exec(`UPDATE recipient_lists SET name = 'empty list' WHERE id = $1`, empty)
	missing := vip + 1000

	mixed := f.checkCampaign("mixed", "active", []string{"wxid_a", "bad id", "wxid_s", "wxid_c", "wxid\nnl"}, []int64{vip, missing, missing + 1})
	nobody := f.checkCampaign("nobody", "paused", nil, []int64{empty})
	quiet := f.checkCampaign("quiet", "active", []string{"wxid_s"}, nil)
	null := f.checkCampaign("null", "active", []string{"wxid_a"}, nil)
	f.exec(`UPDATE campaigns SET recipients = ARRAY[NULL, 'wxid_a'] WHERE id = $1`, null)
	f.checkCampaign("clean", "active", []string{"wxid_a"}, nil)
	f.checkCampaign("done", "completed", []string{"bad id"}, []int64{missing})
	f.checkCampaign("dropped", "cancelled", nil, nil)

	got, err := f.store.CheckAudiences(f.ctx)
	if err != nil {
		t.Fatalf("CheckAudiences: %v", err)
	}
	want := []db.AudienceFinding{
		{mixed, "mixed", true, `2 of 6 recipients would be skipped for a malformed wcId, e.g. "bad id" (invalid wcId: contains whitespace)`,
			"correct or remove them in campaigns.recipients or recipient_list_members (broadcaster_wcid_problem(wc_id) says what is wrong with each)"},
		{mixed, "mixed", false, "1 of 6 recipients are suppressed and would be skipped", ""},
		{nobody, "nobody", true, "no recipients: campaigns.recipients is empty and list_ids names no list with members",
			"add wcIds to campaigns.recipients, or members to a list named in campaigns.list_ids"},
		{nobody, "nobody", false, "list " + itoa(empty) + ` "empty list" has no members`, ""},
		{quiet, "quiet", true, "all 1 recipients would be skipped (1 suppressed, 0 malformed): a run would send nothing",
			"add recipients who are not suppressed, or cancel the campaign"},
		{quiet, "quiet", false, "1 of 1 recipients are suppressed and would be skipped", ""},
		{null, "null", true, `1 of 2 recipients would be skipped for a malformed wcId, e.g. "" (invalid wcId: empty)`,
			"correct or remove them in campaigns.recipients or recipient_list_members (broadcaster_wcid_problem(wc_id) says what is wrong with each)"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("findings:\n%s\nwant:\n%s", dump(got), dump(want))
	}

	// The counts agree with what run creation does.
	run := f.run(mixed)
	if run.Total != 6 || run.Skipped != 3 {
		t.Errorf("run of mixed: %d deliveries, %d skipped; check said 6, 2 malformed + 1 suppressed", run.Total, run.Skipped)
	}
}

func dump(fs []db.AudienceFinding) string {
	s := ""
	for _, f := range fs {
		s += "  " + itoa(f.CampaignID) + " " + f.CampaignName + " problem=" + map[bool]string{true: "y", false: "n"}[f.Problem] +
			" | " + f.Message + " | " + f.Fix + "\n"
	}
	return s
}

func TestCheckCampaigns(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	active := f.checkCampaign("a", "active", []string{"wxid_a"}, nil)
	paused := f.checkCampaign("p", "paused", []string{"wxid_a"}, nil)
	bad := f.checkCampaign("i", "invalid", []string{"wxid_a"}, nil)
	f.exec(`UPDATE campaigns SET error = 'w_id is empty', template_id = NULL, schedule = '@daily' WHERE id = $1`, bad)
	f.checkCampaign("c", "completed", nil, nil)
	f.checkCampaign("x", "cancelled", nil, nil)

	got, err := f.store.CheckCampaigns(f.ctx)
	if err != nil {
		t.Fatalf("CheckCampaigns: %v", err)
	}
	if len(got) != 3 || got[0].ID != active || got[1].ID != paused || got[2].ID != bad {
		t.Fatalf("got %+v, want campaigns %d, %d, %d", got, active, paused, bad)
	}
	a, i := got[0], got[2]
	if a.Name != "a" || a.WID != "w1" || a.Status != campaign.StatusActive || a.Error != "" || a.Template == nil ||
		a.Template.ImgURL != "https://cdn.example.com/a.jpg" || a.Template.Content == "" || a.Schedule != nil {
		t.Errorf("active campaign read as %+v (template %+v)", a, a.Template)
	}
	if got[1].Status != campaign.StatusPaused {
		t.Errorf("paused campaign read with status %q", got[1].Status)
	}
	if i.Status != campaign.StatusInvalid || i.Error != "w_id is empty" || i.Template != nil || i.Schedule == nil || *i.Schedule != "@daily" {
		t.Errorf("invalid campaign read as %+v", i)
	}
	c, err := a.Campaign()
	if err != nil {
		t.Fatalf("the fixture's campaign row: %v", err)
	}
	if _, err := campaign.Validate(c); err != nil {
		t.Errorf("the fixture's campaign does not validate: %v", err)
	}
}
