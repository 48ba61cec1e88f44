package campaign

import (
	"fmt"
	"slices"
	"time"
)

// Actor says who did a write, for audit_log: the operator's name, the credential used
// ("console-write", "bearer-write", "cli", …) and the client address ("" when not known).
type Actor struct{ Name, Credential, Address string }

// ResendRequest asks for a new run of run RunID's campaign for exactly the recipients of
// RunID whose delivery ended in one of Statuses (failed and/or unknown).
type ResendRequest struct {
	RunID    int64
	Statuses []DeliveryStatus
	DryRun   bool
	Actor    Actor
	Now      time.Time // the request's time: the new run's scheduled_for
}

// ResendResult says what a resend did or, for a dry run, would do.
type ResendResult struct {
	NewRunID   int64 // 0 for a dry run
	CampaignID int64
	Recipients int // deliveries the new run has (or would have) to send
	Unknown    int // of those, how many ended unknown in RunID: they may have the message already
	Skipped    int // suppressed or invalid since, skipped again
}

// RefusedError says why a write an operator asked for was not done: a
// resend of a run still sending (it would send twice) or of a campaign that
// may not send, a status change the campaign's state does not allow. The
// store refuses before it changes anything; Reason is meant for the operator.
type RefusedError struct {
	Reason string
}

func (e *RefusedError) Error() string { return "refused: " + e.Reason }

// refused returns a *RefusedError with a formatted reason.
func refused(format string, args ...any) *RefusedError {
	return &RefusedError{Reason: fmt.Sprintf(format, args...)}
}

// ResendStatuses are the delivery statuses a resend may repeat: those that
// ended without the API confirming the message. Sent ones have it; skipped
// ones were never meant to get it.
func ResendStatuses() []DeliveryStatus {
	return []DeliveryStatus{DeliveryFailed, DeliveryUnknown}
}

// CheckResend refuses a request the store need not look at: no run named, no
// request time, or a status set empty or outside ResendStatuses. It returns
// the statuses de-duplicated and sorted, as the store queries them.
func CheckResend(r ResendRequest) ([]DeliveryStatus, error) {
	if r.RunID <= 0 {
		return nil, refused("no run named: give the id of the run to re-send")
	}
	if r.Now.IsZero() {
		return nil, refused("no request time: it becomes the new run's scheduled_for")
	}
	if len(r.Statuses) == 0 {
		return nil, refused("no status named: re-send failed and/or unknown deliveries")
	}
	allowed := ResendStatuses()
	var out []DeliveryStatus
	for _, s := range r.Statuses {
		if !slices.Contains(allowed, s) {
			return nil, refused("cannot re-send %q deliveries: only failed and unknown ones", s)
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out, nil
}

// CheckResendSource refuses a resend whose run or campaign forbids it:
// the run must be closed (completed or cancelled), since re-sending what a
// run is still sending would send twice; the campaign must be one that sends
// (active, or completed: a resend run of a finished campaign still goes
// out), not paused, cancelled or invalid.
func CheckResendSource(runID int64, run RunStatus, c Status) error {
	switch {
	case run == RunPending || run == RunRunning:
		return refused("run %d is still %s: re-send its failures once it has completed", runID, run)
	case c != StatusActive && c != StatusCompleted:
		return refused("the campaign of run %d is %s: only an active or completed campaign's runs are re-sent", runID, c)
	}
	return nil
}

// NothingToResend is the refusal of a resend that matched no delivery.
// resentBy is the latest earlier resend of the run (0: none), whose
// recipients a new resend leaves out: repeating them would send twice.
func NothingToResend(runID int64, statuses []DeliveryStatus, resentBy int64) error {
	if resentBy != 0 {
		return refused("run %d has no %s deliveries left to re-send: run %d re-sends them already (re-send that run's failures instead)",
			runID, joinStatuses(statuses), resentBy)
	}
	return refused("run %d has no %s deliveries to re-send", runID, joinStatuses(statuses))
}

func joinStatuses(ss []DeliveryStatus) string {
	out := ""
	for i, s := range ss {
		if i > 0 {
			out += " or "
		}
		out += string(s)
	}
	return out
}
