package campaigntest

import (
	"sync"
	"time"
)

// Clock is a campaign.Clock that stands still until the test sets or
// advances it, so that what a service does at a given time can be checked
// without sleeping, and repeated exactly. It is safe for concurrent use:
// services read it from their goroutines while the test moves it. The zero
// value is a clock at the zero time.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock at t. Tests that write rows with the database's
// clock start it at the database's now(), so that the two line up.
func NewClock(t time.Time) *Clock {
	return &Clock{now: t}
}

// Now returns the time the test last set, which is what every service on
// this clock takes as the present.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Set puts the clock at t, backwards as well as forwards, so that a test can
// play a time outright (a firing, a lease's end) rather than a sum of steps.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// Advance moves the clock on by d and returns the new time, read and moved
// under one lock, so that a test can wait for what a service does at exactly
// that time even while the service reads the clock.
func (c *Clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}
