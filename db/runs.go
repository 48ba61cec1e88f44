package db

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/broadcaster/broadcaster/campaign"
)

// DueOneShots implements campaign.RunStore.
func (s *Store) DueOneShots(ctx context.Context, now time.Time) ([]campaign.Campaign, error) {
	rows, err := s.pool.Query(ctx, dueOneShotsSQL, now)
	if err != nil {
		return nil, fmt.Errorf("due one-shot campaigns: %w", err)
	}
	cs, err := pgx.CollectRows(rows, scanCampaign)
	if err != nil {
		return nil, fmt.Errorf("due one-shot campaigns: %w", err)
	}
	return cs, nil
}

// scanCampaign reads a campaign row joined with its (possibly missing) template.
func scanCampaign(row pgx.CollectableRow) (campaign.Campaign, error) {
	var (
		c                        campaign.Campaign
		status                   string
		tID                      *int64
		tName, tImgURL, tContent *string
	)
	err := row.Scan(&c.ID, &c.Name, &c.WID, &c.Schedule, &c.StartAt, &c.EndAt, &status,
		&tID, &tName, &tImgURL, &tContent)
	if err != nil {
		return c, err
	}
	c.Status = campaign.Status(status)
	if tID != nil {
		c.Template = &campaign.Template{ID: *tID, Name: *tName, ImgURL: *tImgURL, Content: *tContent}
	}
	return c, nil
}

// MarkInvalid implements campaign.RunStore.
func (s *Store) MarkInvalid(ctx context.Context, campaignID int64, reason string) error {
	if _, err := s.pool.Exec(ctx, markInvalidSQL, campaignID, reason); err != nil {
		return fmt.Errorf("mark campaign %d invalid: %w", campaignID, err)
	}
	return nil
}

// CreateRun implements campaign.RunStore: the run, its deliveries and, when
// nothing is sendable, its completion, in one transaction.
func (s *Store) CreateRun(ctx context.Context, campaignID int64, scheduledFor time.Time) (campaign.Run, error) {
	run := campaign.Run{CampaignID: campaignID, ScheduledFor: scheduledFor, Status: campaign.RunPending}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, workMemSQL); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, insertRunSQL, campaignID, scheduledFor).Scan(&run.ID); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return campaign.ErrRunExists
			}
			return err
		}
		if err := tx.QueryRow(ctx, insertDeliveriesSQL, run.ID, campaignID).Scan(&run.Total, &run.Skipped); err != nil {
			return err
		}
		if run.Total > run.Skipped {
			return nil
		}
		done, err := completeRuns(ctx, tx, []int64{run.ID})
		if err == nil && len(done) == 1 {
			run.Status = campaign.RunCompleted
		}
		return err
	})
	if err != nil {
		return campaign.Run{}, fmt.Errorf("create run of campaign %d: %w", campaignID, err)
	}
	return run, nil
}

// completeRuns completes the runs among ids (all open runs when ids is nil)
// that have nothing left to send.
func completeRuns(ctx context.Context, q querier, ids []int64) ([]int64, error) {
	rows, err := q.Query(ctx, completeRunsSQL, ids)
	if err != nil {
		return nil, fmt.Errorf("complete runs: %w", err)
	}
	done, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("complete runs: %w", err)
	}
	return done, nil
}

// querier is what pgx pools, connections and transactions share.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}
