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

// RunStatuses returns every run status, in the order of a run's life: the
// set a filter may name, written down once (a function, so no caller can
// change it).
func RunStatuses() []RunStatus {
	return []RunStatus{RunPending, RunRunning, RunCompleted, RunCancelled}
}

// DeliveryStatus is the state of one recipient within a run, stored in
// deliveries.status. Sent, failed and skipped are final; unknown is final
// unless a late answer arrives. Its state machine is DeliveryTransitions.
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

// DeliveryStatuses returns every delivery status, in the order of a
// delivery's life: the set a filter may name.
func DeliveryStatuses() []DeliveryStatus {
	return []DeliveryStatus{DeliveryPending, DeliverySending, DeliverySent, DeliveryFailed, DeliveryUnknown, DeliverySkipped}
}

// DeliveryTransitions returns the delivery state machine, written down once
// (a function, so no caller can change it): for each status, the statuses a delivery may move to. A trigger in the
// database (migration 0002) refuses every other change of status, whoever
// makes it, and a test holds the two equal.
//
//	from     to                               why
//	(new)    pending, skipped                 fan-out; suppressed or malformed wcIds are skipped
//	pending  sending                          claimed by a worker (the attempt counter moves)
//	pending  skipped                          campaign cancelled, or recipient suppressed since
//	pending  sent, failed, unknown, pending   a late result for an attempt whose lease was
//	                                          reaped with retry.ambiguous: the API's answer wins
//	sending  sent, failed, unknown            the attempt's result
//	sending  pending                          retry (1001 and the like) with backoff; a claim
//	                                          given back at a stop; reaped with retry.ambiguous
//	sending  unknown                          reaped: its process died with the request in flight
//	unknown  sent, failed, pending            a late result, or a journal replay, for that attempt
//	sent, failed, skipped                     final
func DeliveryTransitions() map[DeliveryStatus][]DeliveryStatus {
	return map[DeliveryStatus][]DeliveryStatus{
		DeliveryPending: {DeliverySending, DeliverySkipped, DeliverySent, DeliveryFailed, DeliveryUnknown},
		DeliverySending: {DeliverySent, DeliveryFailed, DeliveryUnknown, DeliveryPending},
		DeliveryUnknown: {DeliverySent, DeliveryFailed, DeliveryPending},
		DeliverySent:    nil,
		DeliveryFailed:  nil,
		DeliverySkipped: nil,
	}
}
