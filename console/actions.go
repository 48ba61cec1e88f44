package console

import (
	"fmt"
	"net/http"

	"github.com/broadcaster/broadcaster/campaign"
)

// doneView is the answer to a write: what was done, for the operator, and
// the particulars, for /api/ callers.
type doneView struct {
	Message string
	Warning string                 `json:",omitempty"`
	Back    string                 `json:"-"`
	Status  campaign.Status        `json:",omitempty"`
	Resend  *campaign.ResendResult `json:",omitempty"`
}

// actions maps the campaign actions to the status they ask for.
var actions = map[string]campaign.Status{
	"pause":  campaign.StatusPaused,
	"resume": campaign.StatusActive,
	"cancel": campaign.StatusCancelled,
}

// actor is who makes a write, for audit_log.
func (c *Console) actor(r *http.Request) campaign.Actor {
	p := who(r)
	return campaign.Actor{Name: p.Operator, Credential: p.Credential, Address: c.clientAddr(r)}
}

// campaignAction pauses, resumes or cancels a campaign through the store's
// audited SetCampaignStatus.
func (c *Console) campaignAction(r *http.Request) (page, error) {
	id, err := pathID(r)
	if err != nil {
		return page{}, err
	}
	to, ok := actions[r.PathValue("action")]
	if !ok {
		return page{}, errNotFound
	}
	a := c.actor(r)
	if err := c.write.SetCampaignStatus(r.Context(), id, to, a); err != nil {
		return page{}, err
	}
	c.cfg.Log.Info().Str("operator", a.Name).Str("credential", a.Credential).Str("address", a.Address).
		Int64("campaign", id).Str("status", string(to)).Msg("console: campaign status set")
	lang := chooseLanguage(r)
	return page{Template: "done", Title: "Done", Data: doneView{
		Message: fmt.Sprintf(translate(lang, "Campaign %d is now %s."), id, translate(lang, string(to))),
		Back:    fmt.Sprintf("/campaigns/%d", id), Status: to,
	}}, nil
}

// resendAction re-sends a run's failed and/or unknown recipients as a new
// run through the store's audited Resend. Form field (or query) "status",
// repeated: failed, unknown; "dry_run"=1 only counts.
func (c *Console) resendAction(r *http.Request) (page, error) {
	id, err := pathID(r)
	if err != nil {
		return page{}, err
	}
	if err := r.ParseForm(); err != nil {
		return page{}, &badRequest{"unreadable form"}
	}
	var statuses []campaign.DeliveryStatus
	for _, s := range r.Form["status"] {
		statuses = append(statuses, campaign.DeliveryStatus(s))
	}
	a := c.actor(r)
	res, err := c.write.Resend(r.Context(), campaign.ResendRequest{
		RunID: id, Statuses: statuses, DryRun: r.Form.Get("dry_run") == "1", Actor: a, Now: c.cfg.Clock.Now(),
	})
	if err != nil {
		return page{}, err
	}
	c.cfg.Log.Info().Str("operator", a.Name).Str("credential", a.Credential).Str("address", a.Address).
		Int64("run", id).Int64("new_run", res.NewRunID).Int("recipients", res.Recipients).Msg("console: resend")
	lang := chooseLanguage(r)
	v := doneView{
		Message: fmt.Sprintf(translate(lang, "Run %d re-sends %d recipients as run %d."), id, res.Recipients, res.NewRunID),
		Back:    fmt.Sprintf("/runs/%d", res.NewRunID), Resend: &res,
	}
	if res.NewRunID == 0 {
		v.Back = fmt.Sprintf("/runs/%d", id)
	}
	if res.Unknown > 0 {
		v.Warning = fmt.Sprintf(translate(lang, "%d of them ended unknown and may already have the message."), res.Unknown)
	}
	return page{Template: "done", Title: "Done", Data: v}, nil
}
