package campaign

import (
	"fmt"
	"strings"
	"time"
)

// Timestamp is a timestamptz value as the store read it. time.Time cannot
// hold PostgreSQL's 'infinity' and '-infinity', and NULL is no time at all;
// reading any of them must not fail, or one row would stop the batch it is
// read in. So each is said apart here, and what it means for a column is
// decided by the domain.
type Timestamp struct {
	Time time.Time
	// Infinity is +1 for 'infinity', -1 for '-infinity', 0 for a finite Time.
	Infinity int
	// Valid is false for NULL.
	Valid bool
}

// At returns a valid, finite Timestamp.
func At(t time.Time) Timestamp { return Timestamp{Time: t, Valid: true} }

// The range of timestamps a campaign may use, [1970, 10000). Outside it, a
// value is a typo (0202 for 2020) or a zero value nobody set, and the
// durations the scheduler computes from it would overflow time.Duration.
var (
	minTimestamp = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTimestamp = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
)

// value returns t as a time, or says why column cannot hold it and, with
// fix, what to do. A NULL is an error here; nullable columns check Valid
// first.
func (t Timestamp) value(column, fix string) (time.Time, error) {
	switch {
	case !t.Valid:
		return time.Time{}, invalidColumn(column, fix, "%s is NULL", column)
	case t.Infinity > 0:
		return time.Time{}, invalidColumn(column, fix, "%s is infinity", column)
	case t.Infinity < 0:
		return time.Time{}, invalidColumn(column, fix, "%s is -infinity", column)
	case t.Time.Before(minTimestamp) || !t.Time.Before(maxTimestamp):
		return time.Time{}, invalidColumn(column, fix, "%s %s is out of range (years 1970 to 9999)",
			column, t.Time.UTC().Format(time.RFC3339Nano))
	}
	return t.Time, nil
}

// CampaignRow is a campaigns row as the store read it, joined with its
// template and with what the scheduler must know about the rows it names.
// Every field holds any value its column can, so reading a row never fails
// whatever an operator wrote; Campaign then decides whether the values make
// sense. A row that does not is its own campaign's problem, never its
// neighbours'.
type CampaignRow struct {
	ID   int64
	Name string
	WID  string
	// Schedule is campaigns.schedule, nil for NULL (a one-shot campaign).
	Schedule       *string
	StartAt, EndAt Timestamp
	Status         Status
	// TemplateID is campaigns.template_id, nil for NULL.
	TemplateID *int64
	// Template is the applet_templates row TemplateID names; nil when it
	// names none.
	Template *Template
	// MissingLists are the entries of list_ids that name no recipient list,
	// ascending; NullListID says list_ids holds a NULL, which is what a
	// lookup by a misspelt list name writes there.
	MissingLists []int64
	NullListID   bool
}

// Fixes shared by several problems.
const (
	fixStartAt  = "set a timestamp (now() to start at once)"
	fixEndAt    = "set NULL for no end, or a timestamp"
	fixSchedule = "correct the cron spec (5 fields, or a descriptor such as @daily, after an optional CRON_TZ=Area/City prefix), or set NULL for a one-shot campaign"
)

// Campaign returns the campaign r describes, or an *InvalidError naming the
// column whose value it cannot use: a start_at or end_at that is infinite,
// NULL or out of range, a blank schedule (almost certainly a mistake, and
// not a one-shot campaign: that is NULL), lists that do not exist, a
// template_id that names no template. What a Campaign can hold is checked
// later, by Validate.
func (r CampaignRow) Campaign() (Campaign, error) {
	c := Campaign{ID: r.ID, Name: r.Name, WID: r.WID, Status: r.Status, Template: r.Template}
	var err error
	if c.StartAt, err = r.StartAt.value("start_at", fixStartAt); err != nil {
		return c, err
	}
	if r.EndAt.Valid {
		end, err := r.EndAt.value("end_at", fixEndAt)
		if err != nil {
			return c, err
		}
		c.EndAt = &end
	}
	if r.Schedule != nil {
		if strings.TrimSpace(*r.Schedule) == "" {
			return c, errBlankSchedule
		}
		c.Schedule = *r.Schedule
	}
	if err := r.checkLists(); err != nil {
		return c, err
	}
	switch {
	case r.TemplateID == nil:
		return c, noTemplate(r.ID, "template_id is NULL, so the campaign names no template")
	case r.Template == nil:
		return c, noTemplate(r.ID, fmt.Sprintf("template_id %d names no template", *r.TemplateID))
	}
	return c, nil
}

// checkLists says what is wrong with list_ids, if anything: a run would
// quietly send to fewer people than the operator meant.
func (r CampaignRow) checkLists() error {
	const seeLists = "; SELECT id, name FROM recipient_lists shows the lists there are"
	switch n := len(r.MissingLists); {
	case r.NullListID:
		return invalidColumn("list_ids",
			fmt.Sprintf("remove it (UPDATE campaigns SET list_ids = array_remove(list_ids, NULL) WHERE id = %d) "+
				"and add the list's id%s", r.ID, seeLists),
			"list_ids holds NULL (a list looked up by a name that does not exist?)")
	case n == 0:
		return nil
	case n == 1:
		return invalidColumn("list_ids", removeList(r.ID, r.MissingLists[0])+seeLists,
			"list_ids names list %d, which does not exist", r.MissingLists[0])
	default:
		ids := make([]string, n)
		for i, id := range r.MissingLists {
			ids[i] = fmt.Sprint(id)
		}
		return invalidColumn("list_ids", removeList(r.ID, r.MissingLists[0])+seeLists,
			"list_ids names lists %s, which do not exist", strings.Join(ids, ", "))
	}
}

func removeList(campaignID, listID int64) string {
	return fmt.Sprintf("remove it (UPDATE campaigns SET list_ids = array_remove(list_ids, %d) WHERE id = %d) or create the list",
		listID, campaignID)
}

// RecurringRow is a recurring campaign's row, as the store read it, with
// the facts about its runs that RecurringCampaign needs.
type RecurringRow struct {
	CampaignRow
	// LastFiring is the scheduled_for of the campaign's latest run, of any
	// status; NULL when it has none.
	LastFiring Timestamp
	// Sending says an open run still has deliveries pending or sending.
	Sending bool
}

// Recurring returns the recurring campaign r describes, or an
// *InvalidError as Campaign does. A latest run scheduled at a time no
// firing can have (an operator's insert) makes the campaign invalid too:
// its next firing cannot be worked out.
func (r RecurringRow) Recurring() (RecurringCampaign, error) {
	c, err := r.Campaign()
	rc := RecurringCampaign{Campaign: c, Sending: r.Sending}
	if err != nil {
		return rc, err
	}
	if r.LastFiring.Valid {
		rc.LastFiring, err = r.LastFiring.value("campaign_runs.scheduled_for",
			fmt.Sprintf("delete that run (DELETE FROM campaign_runs WHERE campaign_id = %d AND scheduled_for = (SELECT max(scheduled_for) FROM campaign_runs WHERE campaign_id = %d))", r.ID, r.ID))
	}
	return rc, err
}

// ValidateRow judges a campaign's row as the scheduler does when it fires:
// first what the row holds (Campaign), then whether the campaign can be
// sent (Validate). `broadcaster check` and the console's campaign page
// report its error the same way.
func ValidateRow(row CampaignRow) (*Prepared, error) {
	c, err := row.Campaign()
	if err != nil {
		return nil, err
	}
	return Validate(c)
}
