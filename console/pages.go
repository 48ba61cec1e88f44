package console

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/broadcaster/broadcaster/campaign"
	"github.com/broadcaster/broadcaster/db"
)

// recipientLimit bounds the deliveries shown for one wcId.
const recipientLimit = 100

// nowView is the Now page: runs in progress, accounts that wait, and the
// global pause.
type nowView struct {
	At      time.Time
	Runs    []campaign.LiveRun
	Waiting []campaign.AccountView
	Outage  campaign.OutageView
	Outaged bool
}

func (c *Console) nowPage(r *http.Request) (page, error) {
	now := c.cfg.Clock.Now()
	runs, err := c.read.LiveRuns(r.Context(), now)
	if err != nil {
		return page{}, err
	}
	// Polled every 2 s by every open tab: only the waiting accounts, and
	// without the day's send counts this page does not show.
	waiting, err := c.read.Accounts(r.Context(), campaign.AccountsQuery{Now: now, Pacing: c.cfg.Pacing, WaitingOnly: true})
	if err != nil {
		return page{}, err
	}
	outage, err := c.read.Outage(r.Context())
	if err != nil {
		return page{}, err
	}
	return page{Template: "now", Title: "Now", Data: nowView{At: now, Runs: runs, Waiting: waiting, Outage: outage, Outaged: outage.Active()}}, nil
}

// accounts reads every account's state, "today" starting at midnight in
// the scheduler's zone.
func (c *Console) accounts(r *http.Request, now time.Time) ([]campaign.AccountView, error) {
	local := now.In(c.cfg.Location)
	midnight := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, c.cfg.Location)
	return c.read.Accounts(r.Context(), campaign.AccountsQuery{Now: now, Since: midnight, Pacing: c.cfg.Pacing})
}

// runsView is the run list with its filter and the keyset of the next page.
type runsView struct {
	Runs       []campaign.RunProgress
	CampaignID int64
	Status     string
	Statuses   []campaign.RunStatus
	Older      string // URL of the next page; "" at the end
}

func (c *Console) runsPage(r *http.Request) (page, error) {
	q := r.URL.Query()
	f := campaign.RunFilter{Status: campaign.RunStatus(q.Get("status"))}
	var err error
	if f.CampaignID, err = optionalID(q.Get("campaign")); err != nil {
		return page{}, err
	}
	if f.Before, err = optionalID(q.Get("before")); err != nil {
		return page{}, err
	}
	if f.Status != "" && !slices.Contains(campaign.RunStatuses(), f.Status) {
		return page{}, &badRequest{"unknown run status " + strconv.Quote(string(f.Status))}
	}
	runs, err := c.read.Runs(r.Context(), f)
	if err != nil {
		return page{}, err
	}
	v := runsView{Runs: runs, CampaignID: f.CampaignID, Status: string(f.Status),
		Statuses: campaign.RunStatuses()}
	if len(runs) == campaign.PageSize {
		next := url.Values{"before": {strconv.FormatInt(runs[len(runs)-1].RunID, 10)}}
		setIf(next, "campaign", q.Get("campaign"))
		setIf(next, "status", q.Get("status"))
		v.Older = "/runs?" + next.Encode()
	}
	return page{Template: "runs", Title: "Runs", Data: v}, nil
}

// runView is one run: figures, filtered deliveries, failures, the chart.
type runView struct {
	Run        campaign.RunProgress
	Deliveries []campaign.DeliveryView
	Failures   []campaign.FailureGroup
	Rate       []campaign.RateBucket
	Chart      template.HTML `json:"-"`
	Status     string
	Code       string
	WcID       string
	Next       string // URL of the next page of deliveries; "" at the end
	Closed     bool   // completed or cancelled: may be re-sent
	Statuses   []campaign.DeliveryStatus
}

func (c *Console) runPage(r *http.Request) (page, error) {
	id, err := pathID(r)
	if err != nil {
		return page{}, err
	}
	run, err := c.read.Run(r.Context(), id)
	if err != nil {
		return page{}, err
	}
	q := r.URL.Query()
	f := campaign.DeliveryFilter{RunID: id, Status: campaign.DeliveryStatus(q.Get("status")),
		Code: strings.TrimSpace(q.Get("code")), WcID: strings.TrimSpace(q.Get("wc_id"))}
	if f.After, err = optionalID(q.Get("after")); err != nil {
		return page{}, err
	}
	if f.Status != "" && !slices.Contains(campaign.DeliveryStatuses(), f.Status) {
		return page{}, &badRequest{"unknown delivery status " + strconv.Quote(string(f.Status))}
	}
	v := runView{Run: run, Status: string(f.Status), Code: f.Code, WcID: f.WcID,
		Closed:   run.Status == campaign.RunCompleted || run.Status == campaign.RunCancelled,
		Statuses: campaign.DeliveryStatuses()}
	if v.Deliveries, err = c.read.Deliveries(r.Context(), f); err != nil {
		return page{}, err
	}
	if v.Failures, err = c.read.Failures(r.Context(), id); err != nil {
		return page{}, err
	}
	if v.Rate, err = c.read.RunRate(r.Context(), id); err != nil {
		return page{}, err
	}
	v.Chart = rateChart(v.Rate, c.cfg.Location)
	if len(v.Deliveries) == campaign.PageSize {
		next := url.Values{"after": {strconv.FormatInt(v.Deliveries[len(v.Deliveries)-1].ID, 10)}}
		setIf(next, "status", v.Status)
		setIf(next, "code", v.Code)
		setIf(next, "wc_id", v.WcID)
		v.Next = fmt.Sprintf("/runs/%d?%s", id, next.Encode())
	}
	return page{Template: "run", Title: "Run", TitleID: id, Data: v}, nil
}

// recipientView is every delivery of one wcId with its attempts.
type recipientView struct {
	WcID       string
	Deliveries []recipientDelivery
	Searched   bool
}

// recipientDelivery is a delivery with its attempts (History: the
// delivery's own Attempts field is their count).
type recipientDelivery struct {
	campaign.DeliveryView
	History []campaign.AttemptView
}

func (c *Console) recipientPage(r *http.Request) (page, error) {
	wcID := strings.TrimSpace(r.URL.Query().Get("wc_id"))
	v := recipientView{WcID: wcID, Searched: wcID != ""}
	if wcID != "" {
		ds, as, err := c.read.Recipient(r.Context(), wcID, recipientLimit)
		if err != nil {
			return page{}, err
		}
		byDelivery := map[int64][]campaign.AttemptView{}
		for _, a := range as {
			byDelivery[a.DeliveryID] = append(byDelivery[a.DeliveryID], a)
		}
		for _, d := range ds {
			v.Deliveries = append(v.Deliveries, recipientDelivery{DeliveryView: d, History: byDelivery[d.ID]})
		}
	}
	return page{Template: "recipient", Title: "Recipient", Data: v}, nil
}

// campaignsView is one page of campaigns.
type campaignsView struct {
	Campaigns []campaign.CampaignView
	Older     string
}

func (c *Console) campaignsPage(r *http.Request) (page, error) {
	before, err := optionalID(r.URL.Query().Get("before"))
	if err != nil {
		return page{}, err
	}
	cs, err := c.read.Campaigns(r.Context(), before, campaign.PageSize)
	if err != nil {
		return page{}, err
	}
	v := campaignsView{Campaigns: cs}
	if len(cs) == campaign.PageSize {
		v.Older = fmt.Sprintf("/campaigns?before=%d", cs[len(cs)-1].ID)
	}
	return page{Template: "campaigns", Title: "Campaigns", Data: v}, nil
}

// campaignView is one campaign: its row, preview, schedule and findings.
type campaignView struct {
	Campaign  campaign.CampaignView
	Preview   campaign.AppletPreview
	CoverURL  string
	Firings   []time.Time
	Zone      string
	Findings  []finding
	CanPause  bool
	CanResume bool
	CanCancel bool
}

// finding is one of `broadcaster check`'s lines about a campaign.
type finding struct {
	Problem   bool
	What, Fix string
}

func (c *Console) campaignPage(r *http.Request) (page, error) {
	id, err := pathID(r)
	if err != nil {
		return page{}, err
	}
	cv, err := c.read.Campaign(r.Context(), id)
	if err != nil {
		return page{}, err
	}
	now := c.cfg.Clock.Now()
	v := campaignView{Campaign: cv, Zone: c.cfg.Location.String(),
		CanPause:  campaign.CheckTransition(id, cv.Status, campaign.StatusPaused) == nil,
		CanResume: campaign.CheckTransition(id, cv.Status, campaign.StatusActive) == nil,
		CanCancel: campaign.CheckTransition(id, cv.Status, campaign.StatusCancelled) == nil}
	if cv.Template != nil {
		v.Preview, _ = campaign.Preview(cv.Template.Content) // a template that cannot be read is a finding below
	}
	prepared, invalid := campaign.ValidateRow(cv.CampaignRow)
	if invalid != nil {
		v.Findings = append(v.Findings, invalidFinding(invalid))
	} else {
		cover, _ := prepared.Render(campaign.Values{WcID: "wxid_preview", CampaignID: id,
			Date: now.In(c.cfg.Location).Format(time.DateOnly)})
		if u, err := url.Parse(cover); err == nil && (u.Scheme == "https" || u.Scheme == "http") {
			v.CoverURL = cover
		}
		if cv.Status == campaign.StatusInvalid {
			v.Findings = append(v.Findings, finding{Problem: true,
				What: "marked invalid (" + cv.Error + ") but now valid", Fix: "resume it, or cancel it"})
		}
		if camp, err := cv.CampaignRow.Campaign(); err == nil {
			firings, loc, err := campaign.NextFirings(camp, c.cfg.Location, now, 3)
			if err == nil {
				v.Firings, v.Zone = firings, loc.String()
			}
		}
	}
	if cv.Status == campaign.StatusActive || cv.Status == campaign.StatusPaused {
		audiences, err := c.read.CheckAudiences(r.Context())
		if err != nil {
			return page{}, err
		}
		v.Findings = append(v.Findings, audienceFindings(audiences, id)...)
	}
	return page{Template: "campaign", Title: "Campaign", TitleID: id, Data: v}, nil
}

// invalidFinding is check's problem line for a campaign that cannot be sent.
func invalidFinding(err error) finding {
	f := finding{Problem: true, What: err.Error()}
	var ie *campaign.InvalidError
	if errors.As(err, &ie) {
		f.What, f.Fix = ie.Problem, ie.Fix
	}
	return f
}

// audienceFindings are check's findings about campaign id's recipients.
func audienceFindings(all []db.AudienceFinding, id int64) []finding {
	var out []finding
	for _, a := range all {
		if a.CampaignID == id {
			out = append(out, finding{Problem: a.Problem, What: a.Message, Fix: a.Fix})
		}
	}
	return out
}

// accountsView is every sending account, with the latest writes.
type accountsView struct {
	Accounts []campaign.AccountView
	Audit    []campaign.AuditEntry
}

// auditShown is how many audit_log entries the accounts page lists.
const auditShown = 20

func (c *Console) accountsPage(r *http.Request) (page, error) {
	as, err := c.accounts(r, c.cfg.Clock.Now())
	if err != nil {
		return page{}, err
	}
	v := accountsView{Accounts: as}
	if c.write != nil {
		if v.Audit, err = c.write.AuditLog(r.Context(), auditShown); err != nil {
			return page{}, err
		}
	}
	return page{Template: "accounts", Title: "Accounts", Data: v}, nil
}

// pathID reads the {id} of the path.
func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, errNotFound
	}
	return id, nil
}

// optionalID reads an optional positive id from a query parameter.
func optionalID(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, &badRequest{strconv.Quote(s) + " is not an id"}
	}
	return id, nil
}

func setIf(v url.Values, key, value string) {
	if value != "" {
		v.Set(key, value)
	}
}
