package campaign

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/robfig/cron/v3"
)

// Schedule is a parsed campaigns.schedule: when a recurring campaign fires.
// robfig/cron parses it (5 fields, descriptors such as @daily or @every 1h,
// an optional CRON_TZ=Area/City or TZ=Area/City prefix), and Schedule adds
// three rules of its own that make firings the same on every instance and
// sensible across daylight-saving changes:
//
//   - @every D fires at start_at, start_at+D, start_at+2D, …: anchored to the
//     campaign, not to when a process started, so that every instance
//     computes the same scheduled_for.
//   - A schedule restricted to some hours of the day (e.g. "30 2 * * *",
//     @daily) follows the wall clock: a time skipped when clocks go forward
//     fires once, at the end of the gap (03:00 for 02:30 in New York on the
//     spring-forward day), and a time repeated when clocks go back fires at
//     its first occurrence only. A nightly broadcast runs once every night.
//   - A schedule that fires every hour (e.g. "0 * * * *", @hourly) follows
//     real time: it fires in both copies of a repeated hour and not at all in
//     a skipped one, since those hours did (not) happen.
type Schedule struct {
	spec  string
	loc   *time.Location
	utc   *cron.SpecSchedule // the fields, matched on a bare wall clock; nil for @every
	every time.Duration      // > 0 for @every
	// wallClock is set for cron schedules restricted to some hours of the
	// day, which get the daylight-saving rules above.
	wallClock bool
}

// ErrBlankSchedule is returned by ParseSchedule for a schedule with nothing
// in it. A campaign whose schedule is blank is invalid: one-shot campaigns
// have a NULL schedule, and a blank one is almost certainly a mistake.
var ErrBlankSchedule = errors.New("empty schedule")

// allHours is the cron hour field with every hour of the day set.
const allHours = 1<<24 - 1

// ParseSchedule parses a cron spec. loc is the zone of a spec without a
// CRON_TZ=/TZ= prefix (scheduler.timezone); nil means Local. The error is
// the parser's message, fit for campaigns.error. The parser panics on some
// malformed prefixes; those are rejected before parsing, and any other panic
// is recovered and returned as an error.
func ParseSchedule(spec string, loc *time.Location) (s *Schedule, err error) {
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, fmt.Errorf("cannot parse schedule: %v", r)
		}
	}()
	if loc == nil {
		loc = time.Local
	}
	body := strings.TrimSpace(spec)
	if body == "" {
		return nil, ErrBlankSchedule
	}
	if zone, rest, ok, err := cutZone(body); err != nil {
		return nil, err
	} else if ok {
		if loc, err = time.LoadLocation(zone); err != nil {
			return nil, fmt.Errorf("provided bad location %s: %v", zone, err)
		}
		body = rest
	}
	parsed, err := cron.ParseStandard(body)
	if err != nil {
		return nil, err
	}
	s = &Schedule{spec: spec, loc: loc}
	switch p := parsed.(type) {
	case cron.ConstantDelaySchedule:
		// The parser rounds anything under a second, negative included, up
		// to one second: a typo would broadcast every second.
		d, err := time.ParseDuration(strings.TrimPrefix(body, "@every "))
		if err != nil || d < time.Second {
			return nil, fmt.Errorf("%s: @every needs an interval of at least 1s", body)
		}
		s.every = p.Delay
		return s, nil
	case *cron.SpecSchedule:
		p.Location = time.UTC
		s.utc = p
		s.wallClock = p.Hour&allHours != allHours
		return s, nil
	default:
		return nil, fmt.Errorf("%s: unsupported schedule type %T", body, parsed)
	}
}

// cutZone splits a CRON_TZ=Area/City or TZ=Area/City prefix from spec. It
// checks what the parser would otherwise panic on: a prefix with no zone
// name, or with nothing after it.
func cutZone(spec string) (zone, rest string, ok bool, err error) {
	var after string
	switch {
	case strings.HasPrefix(spec, "CRON_TZ="):
		after = spec[len("CRON_TZ="):]
	case strings.HasPrefix(spec, "TZ="):
		after = spec[len("TZ="):]
	default:
		return "", spec, false, nil
	}
	i := strings.IndexFunc(after, unicode.IsSpace)
	if i < 0 {
		return "", "", false, errors.New("the time zone prefix must be followed by a space and the schedule, as in CRON_TZ=Asia/Shanghai 0 2 * * *")
	}
	zone, rest = after[:i], strings.TrimSpace(after[i:])
	if zone == "" {
		return "", "", false, errors.New("the time zone prefix names no zone, as in CRON_TZ=Asia/Shanghai 0 2 * * *")
	}
	if strings.HasPrefix(rest, "CRON_TZ=") || strings.HasPrefix(rest, "TZ=") {
		return "", "", false, errors.New("more than one time zone prefix")
	}
	return zone, rest, true, nil
}

// String returns the spec as written.
func (s *Schedule) String() string { return s.spec }

// Location returns the zone the schedule is evaluated in.
func (s *Schedule) Location() *time.Location { return s.loc }

// Next returns the first firing strictly after t of a campaign that starts
// at start, or the zero time when there is none within five years. start
// anchors @every schedules; firings before start are not excluded here.
func (s *Schedule) Next(start, t time.Time) time.Time {
	if s.every > 0 {
		if t.Before(start) {
			return start
		}
		return start.Add((t.Sub(start)/s.every + 1) * s.every)
	}
	return s.nextWall(t)
}

// nextWall is Next for cron schedules. robfig/cron steps through real time
// and loses its place when clocks change by other than whole hours (it
// skips days in Australia/Lord_Howe, or fires at a wrong hour), so the
// fields are matched on a bare wall clock (the spec evaluated in UTC, which
// has no clock changes) and the wall times mapped to instants here, one
// stretch of constant UTC offset at a time, with the rules on Schedule for
// wall times a change skips or repeats.
func (s *Schedule) nextWall(t time.Time) time.Time {
	t = t.In(s.loc)
	start, end := t.ZoneBounds()
	_, off := t.Zone()
	from := wallOf(t, off)
	if s.wallClock && !start.IsZero() {
		// In the repeated part after clocks went back, the wall times
		// already shown before the change have fired.
		_, prev := start.Add(-time.Nanosecond).Zone()
		if seen := wallOf(start, prev); prev > off && from.Before(seen) {
			from = seen.Add(-time.Nanosecond)
		}
	}
	for {
		m := s.utc.Next(from)
		if m.IsZero() {
			return m
		}
		i := m.Add(-time.Duration(off) * time.Second).In(s.loc)
		if end.IsZero() || i.Before(end) {
			return i
		}
		// m lies beyond the next clock change: carry on after it.
		_, next := end.Zone()
		switch {
		case next > off && s.wallClock && m.Before(wallOf(end, next)):
			return end // a wall time the jump skipped fires when it ends
		case next < off && s.wallClock:
			from = wallOf(end, off).Add(-time.Nanosecond) // skip the repeated wall times
		default:
			from = wallOf(end, next).Add(-time.Nanosecond)
		}
		off = next
		_, end = end.ZoneBounds()
	}
}

// wallOf returns the wall clock at t under UTC offset off (seconds), as a
// UTC time with those fields.
func wallOf(t time.Time, off int) time.Time {
	return t.UTC().Add(time.Duration(off) * time.Second)
}

// exhausted reports whether the schedule has no firing after t: a spec
// such as "0 0 30 2 *" (no February 30th) never fires. @every always does.
func (s *Schedule) exhausted(start, t time.Time) bool {
	return s.every == 0 && s.Next(start, t).IsZero()
}

// latest returns the last firing in (after, hi], or the zero time. It
// searches backwards from hi in doubling windows, so its cost depends on
// the schedule's density near hi, not on how far back after is.
func (s *Schedule) latest(start, after, hi time.Time) time.Time {
	if !hi.After(after) {
		return time.Time{}
	}
	if s.every > 0 {
		if hi.Before(start) {
			return time.Time{}
		}
		f := start.Add(hi.Sub(start) / s.every * s.every)
		if !f.After(after) {
			return time.Time{}
		}
		return f
	}
	first := s.Next(start, after)
	if first.IsZero() || first.After(hi) {
		return time.Time{}
	}
	span := hi.Sub(after)
	for w := time.Minute; ; w *= 2 {
		from := after
		if w < span && w < maxWindow {
			from = hi.Add(-w)
		}
		f := s.Next(start, from)
		if !f.IsZero() && !f.After(hi) {
			for {
				g := s.Next(start, f)
				if g.IsZero() || g.After(hi) {
					return f
				}
				f = g
			}
		}
	}
}

// maxWindow bounds latest's backward search: past it, the search starts
// from after, where a firing is known to be.
const maxWindow = 100 * 365 * 24 * time.Hour

// maxMissedCount bounds the counting of missed firings, so that a
// fine-grained schedule after a long outage costs milliseconds, once.
const maxMissedCount = 10_000

// count returns how many firings lie in (after, before), up to
// maxMissedCount (capped says the count stopped there), and the first.
func (s *Schedule) count(start, after, before time.Time) (n int, first time.Time, capped bool) {
	if !before.After(after) {
		return 0, time.Time{}, false
	}
	if s.every > 0 {
		f := s.Next(start, after)
		if !f.Before(before) {
			return 0, time.Time{}, false
		}
		total := int64(before.Sub(f)-1)/int64(s.every) + 1
		if total > maxMissedCount {
			return maxMissedCount, f, true
		}
		return int(total), f, false
	}
	for f := s.Next(start, after); !f.IsZero() && f.Before(before); f = s.Next(start, f) {
		if n == 0 {
			first = f
		}
		n++
		if n == maxMissedCount {
			g := s.Next(start, f)
			return n, first, !g.IsZero() && g.Before(before)
		}
	}
	return n, first, false
}

// Plan is what a recurring campaign should do at a moment: the one firing
// to create a run for, and the due firings that will never run.
type Plan struct {
	// Fire is the firing to create a run for: the latest one due, when it
	// is no older than the misfire grace. Zero when none is.
	Fire time.Time
	// Missed counts the due firings that will not run: those before Fire,
	// or all of them when the latest is older than the grace. MissedAtLeast
	// says there were more than could be counted.
	Missed        int
	MissedAtLeast bool
	// FirstMissed and LastMissed are the range of the missed firings.
	FirstMissed, LastMissed time.Time
}

// Plan decides what a campaign on this schedule does at now. Firings count
// from start (inclusive) to end (inclusive, nil for no end), and only those
// after last, the scheduled_for of the campaign's latest run (zero when it
// has none). Of the firings due, only the latest is run, and only when it is
// no older than grace; the others are missed, never replayed.
func (s *Schedule) Plan(now, start time.Time, end *time.Time, last time.Time, grace time.Duration) Plan {
	after := start.Add(-time.Nanosecond)
	if !last.IsZero() && !last.Before(start) {
		after = last
	}
	hi := now
	if end != nil && end.Before(hi) {
		hi = *end
	}
	latest := s.latest(start, after, hi)
	if latest.IsZero() {
		return Plan{}
	}
	var p Plan
	missedBefore := latest.Add(time.Nanosecond) // the latest is missed too
	if now.Sub(latest) <= grace {
		p.Fire, missedBefore = latest, latest
	}
	p.Missed, p.FirstMissed, p.MissedAtLeast = s.count(start, after, missedBefore)
	switch {
	case p.Missed == 0:
	case p.Fire.IsZero():
		p.LastMissed = latest
	default:
		p.LastMissed = s.latest(start, after, latest.Add(-time.Nanosecond))
	}
	return p
}
