package campaign

// Status is a campaign's lifecycle state, stored in campaigns.status.
// Operators change it with SQL to pause, resume or cancel a campaign.
type Status string

// Campaign statuses (SPEC §3).
const (
	StatusActive    Status = "active"
	StatusPaused    Status = "paused"
	StatusCancelled Status = "cancelled"
	StatusCompleted Status = "completed"
	StatusInvalid   Status = "invalid"
)

// RunStatus is the state of one firing of a campaign, stored in
// campaign_runs.status.
type RunStatus string

// Run statuses (SPEC §3).
const (
	RunPending   RunStatus = "pending"
	RunRunning   RunStatus = "running"
	RunCompleted RunStatus = "completed"
	RunCancelled RunStatus = "cancelled"
)

// DeliveryStatus is the state of one recipient within a run, stored in
// deliveries.status. Sent, failed, unknown and skipped are final.
type DeliveryStatus string

// Delivery statuses (SPEC §3).
const (
	DeliveryPending DeliveryStatus = "pending"
	DeliverySending DeliveryStatus = "sending"
	DeliverySent    DeliveryStatus = "sent"
	DeliveryFailed  DeliveryStatus = "failed"
	DeliveryUnknown DeliveryStatus = "unknown"
	DeliverySkipped DeliveryStatus = "skipped"
)
