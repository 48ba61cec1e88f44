package campaign

import (
	"fmt"
	"time"
)

// AuditEntry is one row of audit_log: a write an operator made, through the
// console, the command line or plain SQL, kept so that "who paused this
// campaign at 2 a.m., and from where?" has an answer.
type AuditEntry struct {
	ID         int64
	At         time.Time
	Who        string // the operator's name; current_user for a write made with SQL
	Credential string // how they got in: "console-write", "bearer-write", "cli", "sql", …
	Address    string // the client's address; "" when not known
	Action     string // what was done: "pause", "resume", "cancel", "resend", "complete", …
	Target     string // what it was done to: "campaign 12", "run 34"
	Detail     string // JSON object with the particulars (statuses before and after, counts)
}

// Audit actions written by the Go API and by the trigger on campaigns
// (migration 0010), which names status changes by the status reached.
const (
	AuditResend = "resend"
	AuditPause  = "pause"
	AuditResume = "resume"
	AuditCancel = "cancel"
)

// CheckTransition refuses the status changes an operator may not ask for:
// pause (active→paused), resume (paused→active) and cancel (active or
// paused→cancelled) are the only ones. Completion and invalidity are
// broadcaster's to decide.
func CheckTransition(campaignID int64, from, to Status) error {
	ok := false
	switch to {
	case StatusPaused:
		ok = from == StatusActive
	case StatusActive:
		ok = from == StatusPaused
	case StatusCancelled:
		ok = from == StatusActive || from == StatusPaused
	}
	if !ok {
		return refused("campaign %d is %s: it cannot become %s (pause an active campaign, resume a paused one, cancel either)",
			campaignID, from, to)
	}
	return nil
}

// RunTarget and CampaignTarget name what an audit entry is about.
func RunTarget(id int64) string { return fmt.Sprintf("run %d", id) }

// CampaignTarget names a campaign in audit_log.target.
func CampaignTarget(id int64) string { return fmt.Sprintf("campaign %d", id) }
