package db

import (
	"context"
	_ "embed"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/broadcaster/broadcaster/campaign"
)

var (
	//go:embed sql/insert_audit.sql
	insertAuditSQL string
	//go:embed sql/set_actor.sql
	setActorSQL string
	//go:embed sql/campaign_status.sql
	campaignStatusSQL string
	//go:embed sql/set_campaign_status.sql
	setCampaignStatusSQL string
	//go:embed sql/audit_log.sql
	auditLogSQL string
)

// SetCampaignStatus pauses (active|completed→paused), resumes (paused→active) or cancels
// (active|paused|completed→cancelled) a campaign (campaign.CheckTransition), recording the write in audit_log; other transitions are refused.
// The row is written by the trigger on campaigns (migration 0010), which records every
// status change, psql's too: this names the actor to it for the transaction, so each
// change has one row. A campaign that does not exist is campaign.ErrNotFound; a
// transition not allowed is a *campaign.RefusedError, and nothing is written.
func (s *Store) SetCampaignStatus(ctx context.Context, campaignID int64, to campaign.Status, a campaign.Actor) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var from string
		err := tx.QueryRow(ctx, campaignStatusSQL, pgx.NamedArgs{"id": campaignID}).Scan(&from)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("campaign %d: %w", campaignID, campaign.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if err := campaign.CheckTransition(campaignID, campaign.Status(from), to); err != nil {
			return err
		}
		if err := setActor(ctx, tx, a); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, setCampaignStatusSQL, pgx.NamedArgs{"id": campaignID, "status": string(to)})
		return err
	})
	var refusal *campaign.RefusedError
	if err == nil || errors.As(err, &refusal) || errors.Is(err, campaign.ErrNotFound) {
		return err
	}
	return fmt.Errorf("set campaign %d %s: %w", campaignID, to, err)
}

// setActor names a as the actor of the rest of the transaction's writes, for
// the trigger that records campaign status changes in audit_log.
func setActor(ctx context.Context, q querier, a campaign.Actor) error {
	if _, err := q.Exec(ctx, setActorSQL, actorArgs(a)); err != nil {
		return fmt.Errorf("set audit actor: %w", err)
	}
	return nil
}

// actorArgs binds set_actor.sql's named parameters.
func actorArgs(a campaign.Actor) pgx.NamedArgs {
	return pgx.NamedArgs{"who": a.Name, "credential": a.Credential, "address": a.Address}
}

// AuditLog returns the newest audit_log entries first, at most limit.
func (s *Store) AuditLog(ctx context.Context, limit int) ([]campaign.AuditEntry, error) {
	rows, err := s.pool.Query(ctx, auditLogSQL, pgx.NamedArgs{"limit": limit})
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	es, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (campaign.AuditEntry, error) {
		var e campaign.AuditEntry
		err := row.Scan(&e.ID, &e.At, &e.Who, &e.Credential, &e.Address, &e.Action, &e.Target, &e.Detail, &e.DBRole)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	return es, nil
}
