package config

import (
	"errors"
	"strings"
)

// ErrInvalid is wrapped by every configuration problem, so callers decide on
// exit code 2 with errors.Is instead of inspecting messages.
var ErrInvalid = errors.New("invalid configuration")

// Error is one configuration problem. It carries the key and where the value
// came from so the message tells the operator exactly what to fix.
type Error struct {
	// Source is where the bad value came from: "FILE:LINE", a file name, an
	// environment variable name, or empty when the problem is in the merged
	// result (for example a missing required key).
	Source string
	// Key is the full key path, such as "retry.backoff"; empty when the
	// problem concerns the whole file.
	Key string
	// Msg says what is wrong, quoting the bad value where it is safe to.
	Msg string
	// Err is the underlying cause, such as a *fs.PathError; may be nil.
	Err error
}

// Error formats the problem as "source: key: message", leaving out empty parts.
func (e *Error) Error() string {
	parts := make([]string, 0, 3)
	for _, p := range []string{e.Source, e.Key, e.Msg} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, ": ")
}

// Unwrap exposes ErrInvalid and the underlying cause, so both
// errors.Is(err, ErrInvalid) and errors.Is(err, fs.ErrNotExist) work.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrInvalid}
	}
	return []error{ErrInvalid, e.Err}
}
