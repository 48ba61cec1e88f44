package db

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/broadcaster/broadcaster/campaign"
)

var (
	//go:embed sql/resend_source.sql
	resendSourceSQL string
	//go:embed sql/resend_unknown.sql
	resendUnknownSQL string
	//go:embed sql/notify_resend.sql
	notifyResendSQL string
)

// errDryRun rolls back a dry run's transaction: a dry run does everything a
// resend does, so that its figures are the resend's, and keeps none of it.
var errDryRun = errors.New("dry run")

// Resend makes a new run of run r.RunID's campaign for the recipients of
// r.RunID whose delivery ended in one of r.Statuses, linked to it by
// resend_of, with its audit_log row, in one transaction (rolled back for a
// dry run). It refuses (*campaign.RefusedError) a bad status set, a run
// still open, a campaign that does not send, and a resend that matches
// nothing; campaign.ErrNotFound when the run does not exist. Recipients an
// earlier resend of the same run took are left out, so that a resend asked
// twice sends once.
func (s *Store) Resend(ctx context.Context, r campaign.ResendRequest) (campaign.ResendResult, error) {
	statuses, err := campaign.CheckResend(r)
	if err != nil {
		return campaign.ResendResult{}, err
	}
	var res campaign.ResendResult
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		if res, err = resend(ctx, tx, r, statuses); err != nil {
			return err
		}
		if r.DryRun {
			return errDryRun
		}
		return audit(ctx, tx, r.Actor, campaign.AuditResend, campaign.RunTarget(r.RunID), map[string]any{
			"new_run": res.NewRunID, "campaign": res.CampaignID, "statuses": statusStrings(statuses),
			"recipients": res.Recipients, "unknown": res.Unknown, "skipped": res.Skipped,
		})
	})
	if r.DryRun && errors.Is(err, errDryRun) {
		res.NewRunID = 0
		return res, nil
	}
	var refusal *campaign.RefusedError
	if errors.As(err, &refusal) || errors.Is(err, campaign.ErrNotFound) {
		return campaign.ResendResult{}, err
	}
	if err != nil {
		return campaign.ResendResult{}, fmt.Errorf("resend run %d: %w", r.RunID, err)
	}
	return res, nil
}

// resend does the work of Resend inside tx.
func resend(ctx context.Context, tx pgx.Tx, r campaign.ResendRequest, statuses []campaign.DeliveryStatus) (campaign.ResendResult, error) {
	var (
		res                   campaign.ResendResult
		runStatus, campStatus string
		resentBy              int64
		renderDate            time.Time
	)
	err := tx.QueryRow(ctx, resendSourceSQL, pgx.NamedArgs{"run_id": r.RunID}).
		Scan(&res.CampaignID, &runStatus, &campStatus, &resentBy, &renderDate)
	if errors.Is(err, pgx.ErrNoRows) {
		return res, fmt.Errorf("run %d: %w", r.RunID, campaign.ErrNotFound)
	}
	if err != nil {
		return res, err
	}
	if err := campaign.CheckResendSource(r.RunID, campaign.RunStatus(runStatus), campaign.Status(campStatus)); err != nil {
		return res, err
	}
	var total int
	err = tx.QueryRow(ctx, insertRunSQL, pgx.NamedArgs{
		"campaign_id": res.CampaignID, "scheduled_for": r.Now,
		"resend_of": r.RunID, "render_date_of": renderDate,
	}).Scan(&res.NewRunID)
	if errors.Is(err, pgx.ErrNoRows) {
		return res, &campaign.RefusedError{Reason: fmt.Sprintf(
			"campaign %d has a run scheduled for %s already: ask again", res.CampaignID, r.Now.Format(time.RFC3339Nano))}
	}
	if err != nil {
		return res, err
	}
	total, res.Skipped, err = fanOut(ctx, tx, pgx.NamedArgs{
		"run_id": res.NewRunID, "campaign_id": res.CampaignID,
		"resend_of": r.RunID, "statuses": statusStrings(statuses),
	})
	if err != nil {
		return res, err
	}
	if total == 0 {
		return res, campaign.NothingToResend(r.RunID, statuses, resentBy)
	}
	res.Recipients = total - res.Skipped
	err = tx.QueryRow(ctx, resendUnknownSQL, pgx.NamedArgs{"run_id": res.NewRunID, "resend_of": r.RunID}).Scan(&res.Unknown)
	if err != nil {
		return res, err
	}
	if res.Recipients == 0 {
		// Every recipient is skipped: the run is complete at birth, as a
		// firing with nothing sendable is.
		_, err := completeRuns(ctx, tx, []int64{res.NewRunID})
		return res, err
	}
	_, err = tx.Exec(ctx, notifyResendSQL, pgx.NamedArgs{"campaign_id": res.CampaignID, "status": campStatus})
	return res, err
}

// statusStrings is ss as the text[] the SQL compares deliveries.status with.
func statusStrings(ss []campaign.DeliveryStatus) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = string(s)
	}
	return out
}

// audit records one write of the Go API in audit_log, in the write's own
// transaction.
func audit(ctx context.Context, tx pgx.Tx, a campaign.Actor, action, target string, detail map[string]any) error {
	d, err := json.Marshal(detail)
	if err != nil {
		return fmt.Errorf("audit detail: %w", err)
	}
	_, err = tx.Exec(ctx, insertAuditSQL, pgx.NamedArgs{
		"who": a.Name, "credential": a.Credential, "address": a.Address,
		"action": action, "target": target, "detail": string(d),
	})
	if err != nil {
		return fmt.Errorf("audit %s %s: %w", action, target, err)
	}
	return nil
}
