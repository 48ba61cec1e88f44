package campaign

import (
	"context"
	"errors"
	"time"
)

// ErrRunExists reports that the run for a firing was already created, by this
// process or another: the caller lost a harmless race and does nothing.
var ErrRunExists = errors.New("run already exists")

// ErrNotFound reports that a row the caller named does not exist.
var ErrNotFound = errors.New("not found")

// Template is an applet template: a cover image URL and the applet XML as the
// operator stored it (possibly a whole callback message, possibly with
// placeholders).
type Template struct {
	ID      int64
	Name    string
	ImgURL  string
	Content string
}

// Campaign is a campaign row together with its template, as read for
// validation and run creation.
type Campaign struct {
	ID       int64
	Name     string
	WID      string
	Schedule string // "" for a one-shot campaign (NULL); never blank otherwise
	StartAt  time.Time
	EndAt    *time.Time
	Status   Status
	Template *Template // nil when the campaign names no template
}

// Run is one firing of a campaign and the size of its audience.
type Run struct {
	ID           int64
	CampaignID   int64
	ScheduledFor time.Time
	Status       RunStatus
	Total        int // deliveries created, skipped ones included
	Skipped      int
}

// Delivery is a delivery claimed for sending: everything a worker needs to
// build its message. WID is the campaign's w_id at claim time, so an operator
// who updates campaigns.w_id mid-run fixes the deliveries not yet sent.
type Delivery struct {
	ID           int64
	RunID        int64
	CampaignID   int64
	WcID         string
	WID          string
	Attempt      int // number of the attempt about to be made, from 1
	ScheduledFor time.Time
	// RunCreatedAt is the creation time of the delivery's run, which the
	// store partitions deliveries by: carried from the claim to the result
	// so that the result finds its row in one partition. It is zero for
	// deliveries of runs created before partitioning (the legacy
	// partition), which is also what a journal record written by an older
	// release decodes to: those were all claimed before the upgrade.
	RunCreatedAt time.Time
}

// Result is the decision taken on a delivery after one attempt: its new
// status and the attempt to record. A Result whose Status is DeliveryPending
// is retried after RetryIn.
type Result struct {
	Delivery Delivery
	Attempt  Attempt
	Status   DeliveryStatus
	RetryIn  time.Duration
	Error    string // becomes deliveries.last_error; "" on success
}

// Outstanding tells the batch job whether anything is left to send.
type Outstanding struct {
	Pending int           // active campaigns with pending deliveries
	Sending int           // deliveries of active campaigns claimed and not yet recorded
	NextDue time.Duration // until the earliest pending delivery may be sent; 0 if now
}

// Done reports whether no delivery of an active campaign is pending or sending.
func (o Outstanding) Done() bool { return o.Pending == 0 && o.Sending == 0 }

// RunStore is what the scheduler needs: find due campaigns, mark bad ones
// invalid, and create runs with their deliveries.
type RunStore interface {
	// DueOneShots returns the rows of the active one-shot campaigns whose
	// start_at is not after now (or is infinity, so that the scheduler marks
	// them invalid) and that have no run yet. A blank schedule counts as
	// one-shot here, and is the scheduler's to refuse.
	DueOneShots(ctx context.Context, now time.Time) ([]CampaignRow, error)
	// MarkInvalid sets an active campaign's status to invalid with reason.
	MarkInvalid(ctx context.Context, campaignID int64, reason string) error
	// CreateRun creates the run of one firing and all of its deliveries in
	// one transaction. It returns ErrRunExists when the firing already has
	// a run, and an *InvalidError when the campaign holds a value its run
	// cannot (a recipient too long to store).
	CreateRun(ctx context.Context, campaignID int64, scheduledFor time.Time) (Run, error)
	// DueRecurring returns the rows of the active recurring campaigns whose
	// start_at is not after now (or is infinity), each with its latest
	// run's scheduled_for and whether an open run still has deliveries
	// pending or sending. The scheduler works out their firings from that.
	DueRecurring(ctx context.Context, now time.Time) ([]RecurringRow, error)
	// SkipFiring records a firing that will not be sent as a cancelled run
	// with note, so that no instance creates it later. It returns
	// ErrRunExists when the firing already has a run.
	SkipFiring(ctx context.Context, campaignID int64, at time.Time, note string) error
	// CompleteEnded completes the active campaigns that have no open run
	// and nothing left to fire — recurring ones whose end_at is before now,
	// one-shot ones whose run was made — and returns their ids.
	CompleteEnded(ctx context.Context, now time.Time) ([]int64, error)
	// CancelCampaigns carries out cancellations: the pending deliveries of
	// cancelled campaigns become skipped ('cancelled') and their open runs
	// cancelled. It returns how many of each it changed.
	CancelCampaigns(ctx context.Context) (deliveries, runs int, err error)
}

// DeliveryStore is what the dispatcher needs: claim due deliveries, record
// what happened to them, and recover claims left by dead processes.
type DeliveryStore interface {
	// OpenTemplates returns the open runs of the campaigns that send that
	// are not in known, each with its campaign's template, and the runs in
	// known that are no longer open, marked Closed: what the dispatcher
	// prepares before it claims, and which of the runs it holds to forget.
	OpenTemplates(ctx context.Context, known []int64) ([]RunTemplate, error)
	// Claim marks up to p.Limit due deliveries of active campaigns as
	// sending, leased for p.Lease, taking only deliveries whose account
	// p.Pacing allows to send now and skipping rows other processes hold.
	Claim(ctx context.Context, p ClaimParams) ([]Delivery, error)
	// Record stores attempts and results in one transaction and completes
	// the runs (and one-shot campaigns) that have nothing left to send,
	// returning those runs. It is idempotent: a batch recorded again after
	// a failed commit changes nothing.
	Record(ctx context.Context, results []Result) (completed []int64, err error)
	// Reap recovers deliveries whose lease expired in another process (it
	// died, or lost the database, while sending): unknown, or pending again
	// per p. It also gives back this process's own expired claims that are
	// not in p.Holding (their claim committed but its rows never arrived,
	// so no request was made): pending, with the attempt given back, as
	// Release does. It also skips pending deliveries of recipients
	// suppressed since their run was created, and completes any open run
	// with nothing left to send (a run whose last results two processes
	// recorded at once can miss completion).
	Reap(ctx context.Context, p ReapParams) (int, error)
	// Release hands back deliveries this process claimed but never sent (it
	// is stopping, or their template was not ready): pending again, with
	// the claim's attempt given back. A delivery no longer held by this
	// claim is left alone. It returns how many it released.
	Release(ctx context.Context, ds []Delivery) (int, error)
	// Outstanding counts what is left to send and says when the next
	// delivery may go, given its backoff and its account's pacing.
	Outstanding(ctx context.Context, p OutstandingParams) (Outstanding, error)
}

// ReapParams says what becomes of a delivery whose sender's lease ran out.
type ReapParams struct {
	RetryAmbiguous bool          // pending again rather than unknown…
	MaxAttempts    int           // …while it has attempts left
	Delay          time.Duration // before a returned delivery may be claimed
	Now            time.Time     // when leases are judged; zero: the database's clock
	// Holding is every delivery id this process holds: claimed and not yet
	// released, or with its result not yet written. Its own expired claims
	// outside this list were lost on their way back and are given back;
	// those in it are left to it (it may still write their results). Only
	// sound when the store's owner names one dispatcher, for its whole
	// life: an id this process never saw was then never sent by it.
	Holding []int64
}

// Store is everything broadcaster keeps in its database.
type Store interface {
	RunStore
	DeliveryStore
}

// RunSummary is a run's progress, as campaign_run_summary counts it.
type RunSummary struct {
	RunID, CampaignID                              int64
	Total, Sent, Failed, Unknown, Pending, Skipped int
	Attempts                                       int64
}

// Done counts the deliveries that reached a final status.
func (r RunSummary) Done() int { return r.Total - r.Pending }

// Change is a campaign row inserted or updated, as the campaigns trigger
// announces it. A zero Change means "anything may have changed": sent after
// the listener (re)connects, since notifications are lost while it is away.
type Change struct {
	CampaignID int64
	Status     Status
}
