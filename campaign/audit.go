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
	Who        string // the operator's name, as claimed; session_user for a write made with SQL
	Credential string // how they got in: "console-write", "bearer-write", "cli", "daemon", "sql", …
	Address    string // the client's address; "" when not known
	Action     string // what was done: "pause", "resume", "cancel", "resend", "complete", …
	Target     string // what it was done to: "campaign 12", "run 34"
	Detail     string // JSON object with the particulars (statuses before and after, counts)
	// DBRole is the database role that really made the write (session_user),
	// stamped by the database: Who and Credential are claims any session
	// with a login can make, this is not.
	DBRole string
}

// Audit actions written by the Go API and by the trigger on campaigns
// (migration 0010), which names status changes by the status reached.
const (
	AuditResend = "resend"
	AuditPause  = "pause"
	AuditResume = "resume"
	AuditCancel = "cancel"
)

// Daemon is the actor of the status changes broadcaster decides itself
// (completing a campaign, marking it invalid), so that audit_log tells them
// from an operator's SQL (credential "sql").
var Daemon = Actor{Name: "broadcaster", Credential: "daemon"}

// CheckTransition refuses the status changes an operator may not ask for:
// pause (active→paused), resume (paused→active) and cancel (active or
// paused→cancelled) are the only ones, and a completed campaign may be paused
// or cancelled too, since it still sends while a resend of it is open
// (sending_campaigns, migration 0009): pausing holds that resend, resuming
// makes the campaign active until broadcaster completes it again.
// Completion and invalidity are broadcaster's to decide.
func CheckTransition(campaignID int64, from, to Status) error {
	ok := false
	switch to {
	case StatusPaused, StatusCancelled:
		ok = from == StatusActive || from == StatusCompleted || (to == StatusCancelled && from == StatusPaused)
	case StatusActive:
		ok = from == StatusPaused
	}
	if !ok {
		return refused("campaign %d is %s: it cannot become %s (pause an active or completed campaign, resume a paused one, cancel any of them)",
			campaignID, from, to)
	}
	return nil
}

// RunTarget and CampaignTarget name what an audit entry is about.
func RunTarget(id int64) string { return fmt.Sprintf("run %d", id) }

// CampaignTarget names a campaign in audit_log.target.
func CampaignTarget(id int64) string { return fmt.Sprintf("campaign %d", id) }
