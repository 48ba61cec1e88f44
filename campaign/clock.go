package campaign

import "time"

// Clock is the time source of scheduling, pacing, backoff, leases and the
// circuit breaker, injected so that tests can move time by hand instead of
// sleeping.
type Clock interface {
	Now() time.Time
}

// SystemClock is the wall clock.
type SystemClock struct{}

// Now returns the current wall-clock time.
func (SystemClock) Now() time.Time { return time.Now() }

// storeNow is the "now" passed to the store's time-dependent queries. For the
// wall clock it is zero, which the store reads as the database's own clock:
// instances on hosts whose clocks disagree still pace each account, and
// judge each lease, on the one clock they share. Any other clock is passed
// on, so that a test moves time in SQL as well.
func storeNow(c Clock) time.Time {
	if _, ok := c.(SystemClock); ok {
		return time.Time{}
	}
	return c.Now()
}
