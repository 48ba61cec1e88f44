package campaign

import "time"

// Pacing limits how each sending account (w_id) sends, so WeChat does not
// flag it (SPEC §6). The store enforces it when claiming, across every
// instance sharing the database: a claim only takes deliveries of accounts
// allowed to send now, so a paced account never holds a worker that another
// account could use.
type Pacing struct {
	// PerSecond is the sustained sends per second per account; 0 means
	// unlimited.
	PerSecond float64
	// Burst is how many sends may go back to back before PerSecond applies.
	Burst int
	// Jitter is the upper bound of a random pause after each of an
	// account's claims, so its rhythm does not look machine-made.
	Jitter time.Duration
	// BreakerFailures failed attempts in a row rest an account for
	// BreakerCoolDown, after which one probe is sent: success resumes it,
	// failure rests it again. 0 disables the breaker.
	BreakerFailures int
	BreakerCoolDown time.Duration
}

// DefaultPacing is the rate_limit and breaker sections' defaults (SPEC §8).
// The rate follows what operators report as safe from WeChat's spam
// restrictions: about 30 messages a minute, a few seconds apart at random.
// Twenty failures in a row rest an account for five minutes.
func DefaultPacing() Pacing {
	return Pacing{
		PerSecond:       0.5,
		Burst:           1,
		Jitter:          2 * time.Second,
		BreakerFailures: 20,
		BreakerCoolDown: 5 * time.Minute,
	}
}

// ClaimParams says how much to claim and under which limits.
type ClaimParams struct {
	Limit  int           // deliveries at most: the idle workers
	Lease  time.Duration // how long the claim holds before it may be reaped
	Pacing Pacing
	// Exclude names accounts not to claim for now: those with a failed
	// attempt this process has not recorded yet, which the breaker cannot
	// see. Without it a fast-failing account could be sent to many more
	// times than the breaker allows while its results wait to be written.
	Exclude []string
	// Now is the time to pace by; zero means the database's clock, which
	// all instances share (see Clock).
	Now time.Time
	// EnsureAccounts asks the store to give every account that sends a
	// pacing row before it claims, which costs a pass over the campaigns
	// that send: the dispatcher asks on its first claim, when runs have
	// opened since its last, and at least every few seconds (an operator
	// may change a campaign's w_id), not before every claim.
	EnsureAccounts bool
}

// OutstandingParams says how to judge when the next delivery may go.
type OutstandingParams struct {
	Pacing Pacing
	Now    time.Time // zero: the database's clock
}
