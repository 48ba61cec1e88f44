// Package logging builds the process's zerolog.Logger from the log section
// of the configuration. It returns a value instead of setting zerolog's
// global logger so that tests and embedded uses can each have their own.
package logging

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"
)

// ErrInvalid is wrapped by errors about an unknown level or format, so
// callers can treat them as configuration errors with errors.Is.
var ErrInvalid = errors.New("invalid logging setting")

// Format selects how log lines are written.
type Format string

// The accepted formats. Auto exists because operators read logs on a
// terminal during trials but ship them to collectors (which want JSON) in
// production, usually without changing the configuration.
const (
	FormatAuto    Format = "auto"
	FormatConsole Format = "console"
	FormatJSON    Format = "json"
)

// timeLayout is RFC 3339 with fixed milliseconds: sortable, unambiguous
// across time zones and precise enough to order a burst of sends.
const timeLayout = "2006-01-02T15:04:05.000Z07:00"

// consoleTimeLayout is the human form used by the console writer.
const consoleTimeLayout = "2006-01-02 15:04:05.000"

// invalidError carries a ready-to-print message and unwraps to ErrInvalid,
// so the text does not repeat the sentinel's wording.
type invalidError struct{ msg string }

func (e invalidError) Error() string { return e.msg }
func (e invalidError) Unwrap() error { return ErrInvalid }

// levelNames lists the levels accepted by ParseLevel, most verbose first.
func levelNames() []string {
	return []string{"trace", "debug", "info", "warn", "error", "fatal", "panic", "disabled"}
}

// ParseLevel accepts zerolog's level names, case-insensitively. Unlike
// zerolog.ParseLevel it rejects "" and numbers, which in a config file are
// almost certainly mistakes.
func ParseLevel(s string) (zerolog.Level, error) {
	name := strings.ToLower(strings.TrimSpace(s))
	for _, n := range levelNames() {
		if n == name {
			return zerolog.ParseLevel(n)
		}
	}
	return zerolog.NoLevel, invalidError{fmt.Sprintf("%q is not a log level (%s)", s, strings.Join(levelNames(), ", "))}
}

// ParseFormat accepts auto, console and json, case-insensitively.
func ParseFormat(s string) (Format, error) {
	f := Format(strings.ToLower(strings.TrimSpace(s)))
	switch f {
	case FormatAuto, FormatConsole, FormatJSON:
		return f, nil
	}
	return "", invalidError{fmt.Sprintf("%q is not a log format (auto, console, json)", s)}
}

// IsTerminal reports whether w is a terminal, for New's isTerminal. Writers
// that are not files (buffers, pipes wrapped in other writers) are not.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(interface{ Fd() uintptr })
	if !ok {
		return false
	}
	return isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())
}

// New returns a logger writing to w at level in format. isTerminal (see
// IsTerminal) decides what auto means and whether console output is
// colored; it is a parameter so callers and tests control it. Every event
// carries a "time" field.
func New(w io.Writer, level, format string, isTerminal bool) (zerolog.Logger, error) {
	return newLogger(w, level, format, isTerminal, time.Now)
}

// newLogger is New with an injectable clock for tests.
func newLogger(w io.Writer, level, format string, isTerminal bool, now func() time.Time) (zerolog.Logger, error) {
	lvl, err := ParseLevel(level)
	if err != nil {
		return zerolog.Nop(), err
	}
	f, err := ParseFormat(format)
	if err != nil {
		return zerolog.Nop(), err
	}
	if f == FormatConsole || (f == FormatAuto && isTerminal) {
		w = consoleWriter(w, !isTerminal)
	}
	return zerolog.New(w).Level(lvl).Hook(timestampHook(now)), nil
}

// consoleWriter renders events for people; colors only on a terminal so
// files and pipes do not fill with escape codes.
func consoleWriter(w io.Writer, noColor bool) zerolog.ConsoleWriter {
	return zerolog.ConsoleWriter{Out: w, NoColor: noColor, TimeFormat: consoleTimeLayout}
}

// timestampHook stamps each event with our own layout instead of relying on
// zerolog.TimeFieldFormat, a package global other code may change.
func timestampHook(now func() time.Time) zerolog.HookFunc {
	return func(e *zerolog.Event, _ zerolog.Level, _ string) {
		e.Str(zerolog.TimestampFieldName, now().Format(timeLayout))
	}
}
