package console

import (
	"context"

	"github.com/broadcaster/broadcaster/campaign"
)

// Writer is what the console's write actions call: the store's audited
// operations, which record each write in audit_log in the same transaction.
// *db.Store implements it.
type Writer interface {
	SetCampaignStatus(ctx context.Context, campaignID int64, to campaign.Status, a campaign.Actor) error
	Resend(ctx context.Context, r campaign.ResendRequest) (campaign.ResendResult, error)
	AuditLog(ctx context.Context, limit int) ([]campaign.AuditEntry, error)
}
