package campaign

import (
	"errors"
	"fmt"
	"strings"
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

// Validate checks that c can be sent and returns its prepared template.
func Validate(c Campaign) (*Prepared, error) {
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
