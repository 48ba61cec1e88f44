package console

import (
	"runtime"

	"github.com/broadcaster/broadcaster/campaign"
)

// MaxAddresses is how many client addresses the login limiter remembers.
const MaxAddresses = maxAddresses

// LoginLimiter is the failed-login limiter, for its eviction test.
type LoginLimiter struct{ l *loginLimiter }

// NewLoginLimiter returns an empty limiter on clock.
func NewLoginLimiter(clock campaign.Clock) LoginLimiter { return LoginLimiter{newLoginLimiter(clock)} }

// Fail presents a wrong credential from addr and reports whether it was
// compared (false: addr is over its limit). A slow comparison yields to
// other goroutines while it runs, to let parallel attempts overlap.
func (l LoginLimiter) Fail(addr string, slow bool) bool {
	_, allowed := l.l.try(addr, func() bool {
		for range 100 {
			if slow {
				runtime.Gosched()
			}
		}
		return false
	})
	return allowed
}

// Translated reports whether s has its Simplified Chinese, for the
// catalogue's completeness test.
func Translated(s string) bool {
	_, ok := zh[s]
	return ok
}

// DynamicTexts are the texts translated from values rather than template
// literals: titles, statuses, states and messages.
func DynamicTexts() []string {
	out := []string{"Now", "Runs", "Run", "Recipient", "Campaigns", "Campaign", "Accounts", "Error", "Done", "Log in",
		"active", "paused", "invalid", "broken", "resting", "paced", "ready",
		"Campaign %d is now %s.", "Run %d re-sends %d recipients as run %d.",
		"%d of them ended unknown and may already have the message.",
		"Wrong token, or no name given.", "Too many failed logins from this address; wait a minute.",
		"Something went wrong; the details are in the daemon's log."}
	for _, s := range campaign.RunStatuses() {
		out = append(out, string(s))
	}
	for _, s := range campaign.DeliveryStatuses() {
		out = append(out, string(s))
	}
	for _, err := range []error{errUnauthorized, errForbidden, errBadCSRF, errNotFound, errTooMany} {
		out = append(out, err.Error())
	}
	return out
}
