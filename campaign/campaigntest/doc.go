// Package campaigntest provides a clock that tests move by hand, in the
// spirit of net/http/httptest: the one settable campaign.Clock that the
// tests of every package share, instead of each writing its own.
//
// Scheduling, pacing, backoff, leases, the circuit breaker, sessions and the
// liveness checks all read a campaign.Clock, so that a test can step time
// instead of sleeping through it. The services read the clock from their own
// goroutines while the test moves it, so the clock must be safe for
// concurrent use; one shared, race-tested type gets that right once.
//
// The package does not import package campaign, so that the internal tests
// of package campaign can use it without an import cycle; Clock satisfies
// campaign.Clock by its method set alone. Not being campaign.SystemClock, nor
// embedding it, it is not the wall clock for the store: the time it reads is
// passed to the store's queries, so that moving it moves time in SQL too.
//
// A test uses it like this:
//
//	clock := campaigntest.NewClock(time.Date(2026, 11, 30, 2, 0, 0, 0, time.UTC))
//	d := campaign.NewDispatcher(store, sender, campaign.DispatchConfig{Clock: clock}, log)
//	...
//	clock.Advance(time.Minute) // the dispatcher sees a minute go by, at once
package campaigntest
