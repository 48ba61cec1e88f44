package campaign

import "time"

// Clock is the time source of scheduling and backoff decisions, injected so
// that tests can move time by hand instead of sleeping.
type Clock interface {
	Now() time.Time
}

// SystemClock is the wall clock.
type SystemClock struct{}

// Now returns the current wall-clock time.
func (SystemClock) Now() time.Time { return time.Now() }
