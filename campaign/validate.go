package campaign

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// InvalidError says why a campaign cannot be sent. Its text is stored in
// campaigns.error when the campaign is marked invalid, so it names the
// problem and, where it can, the fix.
type InvalidError struct {
	Reason string
}

func (e *InvalidError) Error() string { return e.Reason }

func invalid(format string, args ...any) error {
	return &InvalidError{Reason: fmt.Sprintf(format, args...)}
}

// IsInvalid reports whether err says a campaign is invalid, as opposed to a
// failure to find out (a database error).
func IsInvalid(err error) bool {
	var ie *InvalidError
	return errors.As(err, &ie)
}

// Validate checks that c can be sent and returns its prepared template. A
// recurring campaign's schedule must parse and fire at least once; a
// one-shot campaign has no schedule to check.
func Validate(c Campaign) (*Prepared, error) {
	if err := validateSchedule(c); err != nil {
		return nil, err
	}
	if strings.TrimSpace(c.WID) == "" {
		return nil, invalid("w_id is empty: set campaigns.w_id to the sending account's wId")
	}
	if c.Template == nil {
		return nil, invalid("template: the campaign names no template (set campaigns.template_id)")
	}
	p, err := Prepare(*c.Template)
	if err != nil {
		return nil, invalid("template %q: %v", c.Template.Name, err)
	}
	return p, nil
}

// validateSchedule checks a recurring campaign's schedule. The zone a spec
// without prefix is evaluated in does not change whether it is valid, so UTC
// stands in for scheduler.timezone.
func validateSchedule(c Campaign) error {
	if !IsRecurring(c.Schedule) {
		return nil
	}
	s, err := parseCampaignSchedule(c, time.UTC)
	if err != nil {
		return err
	}
	if s.exhausted(c.StartAt, c.StartAt.Add(-time.Nanosecond)) {
		return invalid("schedule %q never fires after start_at", c.Schedule)
	}
	return nil
}
