package console

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
		"pending", "running", "completed", "cancelled", "sending", "sent", "failed", "unknown", "skipped",
		"active", "paused", "invalid", "broken", "resting", "paced", "ready",
		"Campaign %d is now %s.", "Run %d re-sends %d recipients as run %d.",
		"%d of them ended unknown and may already have the message.",
		"Wrong token, or no name given.", "Too many failed logins from this address; wait a minute.",
		"Something went wrong; the details are in the daemon's log."}
	for _, err := range []error{errUnauthorized, errForbidden, errBadCSRF, errNotFound} {
		out = append(out, err.Error())
	}
	return out
}
