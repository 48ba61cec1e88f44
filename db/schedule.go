package db

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/broadcaster/broadcaster/campaign"
)

// The SQL of recurring campaigns and cancellations, one statement per file.
var (
	//go:embed sql/due_recurring.sql
	dueRecurringSQL string
	//go:embed sql/skip_recurring_firing.sql
	skipRecurringFiringSQL string
	//go:embed sql/complete_ended.sql
	completeEndedSQL string
	//go:embed sql/cancel_campaigns.sql
	cancelCampaignsSQL string
)

// DueRecurring implements campaign.RunStore.
func (s *Store) DueRecurring(ctx context.Context, now time.Time) ([]campaign.RecurringRow, error) {
	rows, err := s.pool.Query(ctx, dueRecurringSQL, pgx.NamedArgs{"now": now})
	if err != nil {
		return nil, fmt.Errorf("due recurring campaigns: %w", err)
	}
	cs, err := pgx.CollectRows(rows, scanRecurring)
	if err != nil {
		return nil, fmt.Errorf("due recurring campaigns: %w", err)
	}
	return cs, nil
}

// scanRecurring reads a campaign row as scanCampaignRow does, followed by
// the latest run's scheduled_for (NULL without runs; any value, as the
// campaign's own timestamps) and the sending flag.
func scanRecurring(row pgx.CollectableRow) (campaign.RecurringRow, error) {
	var (
		rc   campaign.RecurringRow
		last pgtype.Timestamptz
		err  error
	)
	rc.CampaignRow, err = scanCampaignRow(withTrailing{row, []any{&last, &rc.Sending}})
	if err != nil {
		return rc, err
	}
	rc.LastFiring = timestamp(last)
	return rc, nil
}

// withTrailing is a row whose Scan fills extra destinations after the
// caller's, so that scanCampaignRow reads rows with more columns than a
// campaign's.
type withTrailing struct {
	pgx.CollectableRow
	extra []any
}

func (r withTrailing) Scan(dest ...any) error {
	return r.CollectableRow.Scan(append(dest, r.extra...)...)
}

// SkipFiring implements campaign.RunStore.
func (s *Store) SkipFiring(ctx context.Context, campaignID int64, at time.Time, note string) error {
	var id int64
	err := s.pool.QueryRow(ctx, skipRecurringFiringSQL, pgx.NamedArgs{"campaign_id": campaignID, "scheduled_for": at, "note": note}).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return campaign.ErrRunExists
	}
	if err != nil {
		return fmt.Errorf("skip firing %s of campaign %d: %w", at.UTC().Format(time.RFC3339), campaignID, err)
	}
	return nil
}

// CompleteEnded implements campaign.RunStore, as campaign.Daemon in audit_log.
func (s *Store) CompleteEnded(ctx context.Context, now time.Time) ([]int64, error) {
	var ids []int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := setActor(ctx, tx, campaign.Daemon); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, completeEndedSQL, pgx.NamedArgs{"ended_before": now})
		if err != nil {
			return err
		}
		ids, err = pgx.CollectRows(rows, pgx.RowTo[int64])
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("complete ended campaigns: %w", err)
	}
	return ids, nil
}

// CancelCampaigns implements campaign.RunStore, in one statement, and stores
// the totals of the runs it closed or changed in the same transaction.
func (s *Store) CancelCampaigns(ctx context.Context) (deliveries, runs int, err error) {
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var changed []int64
		if err := tx.QueryRow(ctx, cancelCampaignsSQL).Scan(&deliveries, &runs, &changed); err != nil {
			return err
		}
		return refreshTotals(ctx, tx, changed)
	})
	if err != nil {
		return 0, 0, fmt.Errorf("cancel campaigns: %w", err)
	}
	return deliveries, runs, nil
}
