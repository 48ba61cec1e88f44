package campaign

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// InvalidError says why a campaign cannot be sent: which column is wrong,
// what is wrong with it, and how to fix it. Its text, "PROBLEM: FIX", is
// stored in campaigns.error when the campaign is marked invalid; `check`
// prints the parts apart. Callers decide with errors.As on the fields,
// never by reading the text.
type InvalidError struct {
	// Column is the column to correct, "w_id" or "schedule" for the
	// campaign's own, "applet_templates.content" for another table's; ""
	// when no one column is to blame.
	Column string
	// Problem says what is wrong, naming the column: "end_at is infinity".
	Problem string
	// Fix says what to do about it: "set NULL for no end, or a timestamp".
	Fix string
}

func (e *InvalidError) Error() string {
	if e.Fix == "" {
		return e.Problem
	}
	return e.Problem + ": " + e.Fix
}

// maxProblemRunes bounds InvalidError.Problem: a problem quotes the values
// it found, and a column may hold a megabyte, which must not end up in
// every log line and in campaigns.error.
const maxProblemRunes = 1000

// invalid returns an *InvalidError that names no column, for problems
// found outside a campaign's row (the dispatcher's, with a template gone).
func invalid(format string, args ...any) error {
	return invalidColumn("", "", format, args...)
}

// invalidColumn returns an *InvalidError about column.
func invalidColumn(column, fix, format string, args ...any) error {
	problem := strings.ToValidUTF8(fmt.Sprintf(format, args...), "\uFFFD")
	return &InvalidError{Column: column, Problem: shorten(problem, maxProblemRunes), Fix: fix}
}

// IsInvalid reports whether err says a campaign is invalid, as opposed to a
// failure to find out (a database error).
func IsInvalid(err error) bool {
	var ie *InvalidError
	return errors.As(err, &ie)
}

// Validate checks that c can be sent and returns its prepared template. A
// recurring campaign's schedule must parse and fire at least once; a
// one-shot campaign has no schedule to check. Its errors are
// *InvalidError. What a row can hold that a Campaign cannot (infinities,
// missing lists) is checked before, by CampaignRow.Campaign.
func Validate(c Campaign) (*Prepared, error) {
	if err := validateSchedule(c); err != nil {
		return nil, err
	}
	if err := validateWID(c.ID, c.WID); err != nil {
		return nil, err
	}
	if c.Template == nil {
		return nil, noTemplate(c.ID, "template_id is NULL, so the campaign names no template")
	}
	p, err := Prepare(*c.Template)
	if err != nil {
		return nil, templateInvalid(*c.Template, err)
	}
	return p, nil
}

// noTemplate is a campaign whose template_id names no template.
func noTemplate(campaignID int64, problem string) error {
	return &InvalidError{Column: "template_id", Problem: problem,
		Fix: fmt.Sprintf("UPDATE campaigns SET template_id = (SELECT id FROM applet_templates WHERE name = '…') WHERE id = %d", campaignID)}
}

// errBlankSchedule is a campaign whose schedule is blank but not NULL.
var errBlankSchedule = &InvalidError{Column: "schedule", Problem: "schedule is blank",
	Fix: "set NULL for a one-shot campaign, or a cron spec"}

// templateInvalid says which column of template t err, from Prepare, is
// about. A TemplateError without a line is about img_url when it is an
// unknown placeholder (content's always have one).
func templateInvalid(t Template, err error) error {
	name := fmt.Sprintf("template %d %s", t.ID, Quote(t.Name))
	problem := "template " + Quote(t.Name)
	var te *TemplateError
	switch {
	case errors.Is(err, ErrImgURL),
		errors.Is(err, ErrUnknownPlaceholder) && errors.As(err, &te) && te.Line == 0:
		return invalidColumn("applet_templates.img_url",
			"set applet_templates.img_url of "+name+" to the cover's absolute http(s) URL, with known placeholders only",
			"%s: %v", problem, err)
	case errors.Is(err, ErrUnknownPlaceholder):
		return invalidColumn("applet_templates.content", "correct the placeholder in "+name, "%s: %v", problem, err)
	default:
		return invalidColumn("applet_templates.content",
			"correct applet_templates.content of "+name+": the <appmsg> element or the whole callback message, as pasted",
			"%s: %v", problem, err)
	}
}

// validateSchedule checks a recurring campaign's schedule. The zone a spec
// without prefix is evaluated in does not change whether it is valid, so UTC
// stands in for scheduler.timezone.
func validateSchedule(c Campaign) error {
	switch {
	case c.Schedule == "":
		return nil
	case strings.TrimSpace(c.Schedule) == "":
		return errBlankSchedule
	}
	s, err := parseCampaignSchedule(c, time.UTC)
	if err != nil {
		return err
	}
	if s.exhausted(c.StartAt, c.StartAt.Add(-time.Nanosecond)) {
		return invalidColumn("schedule", fixSchedule,
			"schedule %s never fires after start_at", Quote(c.Schedule))
	}
	return nil
}

// MaxWIDRunes is the longest w_id accepted, as for wcIds
// (broadcaster_wcid_problem in schema.sql): real ones are a few dozen
// characters.
const MaxWIDRunes = 128

// validateWID checks w_id by the rules for wcIds: an account id with
// whitespace or control characters in it is a paste gone wrong, and the
// API would refuse every send of the run, one request at a time.
func validateWID(campaignID int64, wid string) error {
	fix := fmt.Sprintf("UPDATE campaigns SET w_id = '<the logged-in account's wId>' WHERE id = %d", campaignID)
	switch {
	case strings.TrimSpace(wid) == "":
		return invalidColumn("w_id", fix, "w_id is empty")
	case strings.TrimSpace(wid) != wid:
		return invalidColumn("w_id", fix, "w_id %s has leading or trailing whitespace", Quote(wid))
	case strings.IndexFunc(wid, unicode.IsControl) >= 0:
		return invalidColumn("w_id", fix, "w_id %s contains a control character", Quote(wid))
	case strings.IndexFunc(wid, unicode.IsSpace) >= 0:
		return invalidColumn("w_id", fix, "w_id %s contains whitespace", Quote(wid))
	case utf8.RuneCountInString(wid) > MaxWIDRunes:
		return invalidColumn("w_id", fix, "w_id is longer than %d characters (%d)", MaxWIDRunes, utf8.RuneCountInString(wid))
	}
	return nil
}

// quoteRunes is how much of a value quote shows.
const quoteRunes = 64

// quote returns s quoted for a message, escapes and all, and cut short
// when long: a message must stay one readable line whatever a column holds.
func Quote(s string) string {
	short := shorten(s, quoteRunes)
	if short == s {
		return strconv.Quote(s)
	}
	return strconv.Quote(strings.TrimSuffix(short, "…")) + "…"
}

// shorten cuts s to at most n runes, marking the cut with an ellipsis.
func shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	k := 0
	for i := range s {
		if k == n-1 {
			return s[:i] + "…"
		}
		k++
	}
	return s
}
