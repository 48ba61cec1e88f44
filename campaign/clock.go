package campaign

import "time"

// Clock is the time source of scheduling, pacing, backoff, leases and the
// circuit breaker, injected so that tests can move time by hand instead of
// sleeping.
type Clock interface {
	Now() time.Time
}

// SystemClock is the wall clock. A clock that embeds it counts as the wall
// clock for the store (storeNow), whatever its Now says: a test uses that to
// play a host whose clock is skewed.
type SystemClock struct{}

// Now returns the current wall-clock time.
func (SystemClock) Now() time.Time { return time.Now() }

// databaseTime marks SystemClock, and the clocks embedding it, as the wall
// clock, whose time the store's queries replace with the database's own.
func (SystemClock) databaseTime() {}

// storeNow is the "now" passed to the store's time-dependent queries. For the
// wall clock it is zero, which the store reads as the database's own clock:
// instances on hosts whose clocks disagree still pace each account, judge
// each lease and share the global pause on the one clock they share. Any
// other clock is passed on, so that a test moves time in SQL as well.
func storeNow(c Clock) time.Time {
	return storeTime(c, c.Now())
}

// storeTime is now, read from c, as the store's queries take it: zero (the
// database's clock) when c is the wall clock.
func storeTime(c Clock, now time.Time) time.Time {
	if _, ok := c.(interface{ databaseTime() }); ok {
		return time.Time{}
	}
	return now
}
