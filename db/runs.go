package db

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/broadcaster/broadcaster/campaign"
)

// DueOneShots implements campaign.RunStore.
func (s *Store) DueOneShots(ctx context.Context, now time.Time) ([]campaign.CampaignRow, error) {
	rows, err := s.pool.Query(ctx, dueOneShotsSQL, pgx.NamedArgs{"now": now})
	if err != nil {
		return nil, fmt.Errorf("due one-shot campaigns: %w", err)
	}
	cs, err := pgx.CollectRows(rows, scanCampaignRow)
	if err != nil {
		return nil, fmt.Errorf("due one-shot campaigns: %w", err)
	}
	return cs, nil
}

// scanCampaignRow reads the columns due_one_shots.sql selects into a
// campaign.CampaignRow. Nothing a campaign row can hold fails this scan:
// timestamps go through pgtype.Timestamptz, which takes ±infinity, and
// what may be NULL is scanned as a pointer, so that the domain, not a scan
// error, decides what a value means.
func scanCampaignRow(row pgx.CollectableRow) (campaign.CampaignRow, error) {
	var (
		c                        campaign.CampaignRow
		status                   string
		start, end               pgtype.Timestamptz
		tID                      *int64
		tName, tImgURL, tContent string
	)
	err := row.Scan(&c.ID, &c.Name, &c.WID, &c.Schedule, &start, &end, &status,
		&c.TemplateID, &tID, &tName, &tImgURL, &tContent, &c.MissingLists, &c.NullListID)
	if err != nil {
		return c, err
	}
	c.Status = campaign.Status(status)
	c.StartAt, c.EndAt = timestamp(start), timestamp(end)
	if tID != nil {
		c.Template = &campaign.Template{ID: *tID, Name: tName, ImgURL: tImgURL, Content: tContent}
	}
	return c, nil
}

// timestamp converts what pgx read into the domain's Timestamp.
func timestamp(t pgtype.Timestamptz) campaign.Timestamp {
	switch t.InfinityModifier {
	case pgtype.Infinity:
		return campaign.Timestamp{Infinity: 1, Valid: t.Valid}
	case pgtype.NegativeInfinity:
		return campaign.Timestamp{Infinity: -1, Valid: t.Valid}
	}
	return campaign.Timestamp{Time: t.Time, Valid: t.Valid}
}

// MarkInvalid implements campaign.RunStore, as campaign.Daemon in audit_log.
func (s *Store) MarkInvalid(ctx context.Context, campaignID int64, reason string) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := setActor(ctx, tx, campaign.Daemon); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, markInvalidSQL, pgx.NamedArgs{"id": campaignID, "error": reason})
		return err
	})
	if err != nil {
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
		if err := tx.QueryRow(ctx, insertRunSQL, pgx.NamedArgs{
			"campaign_id": campaignID, "scheduled_for": scheduledFor, "resend_of": nil, "render_date_of": nil,
		}).Scan(&run.ID); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return campaign.ErrRunExists
			}
			return err
		}
		var err error
		run.Total, run.Skipped, err = fanOut(ctx, tx, fanOutArgs(campaignID, run.ID))
		if err != nil {
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
	if err := recipientTooLong(err); err != nil {
		return campaign.Run{}, err
	}
	if err != nil {
		return campaign.Run{}, fmt.Errorf("create run of campaign %d: %w", campaignID, err)
	}
	return run, nil
}

// analyzeMinRows is broadcaster_analyze_run's own floor (migration 0012),
// below which it returns false without looking: a fan-out of fewer rows
// does not ask, which spares a night of many small runs a round trip each.
// A test holds the two equal.
const analyzeMinRows = 1000

// fanOutArgs are insert_deliveries.sql's arguments for a first run of a
// campaign (not a resend).
func fanOutArgs(campaignID, runID int64) pgx.NamedArgs {
	return pgx.NamedArgs{"run_id": runID, "campaign_id": campaignID, "resend_of": nil, "statuses": nil}
}

// fanOut inserts a run's deliveries (insert_deliveries.sql, whose named
// arguments args holds) and returns how many, and how many of them were
// skipped. When they are many for their partition it analyses it in the same
// transaction (analyze_run.sql): planned on the statistics of the partition
// before the fan-out, the run's first claims would read every pending
// delivery of it.
func fanOut(ctx context.Context, tx pgx.Tx, args pgx.NamedArgs) (total, skipped int, err error) {
	if err := tx.QueryRow(ctx, insertDeliveriesSQL, args).Scan(&total, &skipped); err != nil {
		return 0, 0, err
	}
	if total < analyzeMinRows {
		return total, skipped, nil
	}
	if _, err := tx.Exec(ctx, analyzeRunSQL, pgx.NamedArgs{"run_id": args["run_id"], "inserted": total}); err != nil {
		return 0, 0, fmt.Errorf("analyze the run's partition: %w", err)
	}
	return total, skipped, nil
}

// recipientTooLong turns the error PostgreSQL gives for a wcId too long for
// the index on deliveries (index row size exceeds the maximum, about 2,700
// bytes) into the domain's: only campaigns.recipients can bring one there
// (list members and suppressions are indexed themselves), and without this
// the campaign's run would fail at every tick. It returns nil for any other
// error.
func recipientTooLong(err error) error {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != pgerrcode.ProgramLimitExceeded {
		return nil
	}
	return &campaign.InvalidError{
		Column:  "recipients",
		Problem: "recipients holds a wcId too long to store (" + pgErr.Message + ")",
		Fix:     "remove it from campaigns.recipients: a wcId is at most 128 characters",
	}
}

// completeRuns completes the runs among ids (all open runs when ids is nil)
// that have nothing left to send, as campaign.Daemon in audit_log. Call it
// in a transaction: the actor is named for the rest of it.
func completeRuns(ctx context.Context, q querier, ids []int64) ([]int64, error) {
	if ids != nil && len(ids) == 0 {
		return nil, nil
	}
	if err := setActor(ctx, q, campaign.Daemon); err != nil {
		return nil, fmt.Errorf("complete runs: %w", err)
	}
	rows, err := q.Query(ctx, completeRunsSQL, pgx.NamedArgs{"runs": ids})
	if err != nil {
		return nil, fmt.Errorf("complete runs: %w", err)
	}
	done, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("complete runs: %w", err)
	}
	if err := refreshTotals(ctx, q, done); err != nil {
		return nil, err
	}
	return done, nil
}

// refreshTotals stores the totals of the closed runs among ids on
// campaign_runs (refresh_run_totals.sql). Call it in the transaction that
// closed them or changed one of their deliveries, after the change; it does
// nothing without ids, which is the common case of a batch of results.
func refreshTotals(ctx context.Context, q querier, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	if _, err := q.Exec(ctx, refreshRunTotalsSQL, pgx.NamedArgs{"runs": ids}); err != nil {
		return fmt.Errorf("store run totals: %w", err)
	}
	return nil
}

// querier is what pgx pools, connections and transactions share.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}
