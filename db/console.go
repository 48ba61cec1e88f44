package db

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/broadcaster/broadcaster/campaign"
)

// The queries behind the operator console's pages. Each is bounded: a
// LIMIT, a keyset, and an index on what it filters by.
var (
	//go:embed sql/console_live_runs.sql
	consoleLiveRunsSQL string
	//go:embed sql/console_recent_sends.sql
	consoleRecentSendsSQL string
	//go:embed sql/console_runs.sql
	consoleRunsSQL string
	//go:embed sql/console_deliveries.sql
	consoleDeliveriesSQL string
	//go:embed sql/console_failures.sql
	consoleFailuresSQL string
	//go:embed sql/console_run_rate.sql
	consoleRunRateSQL string
	//go:embed sql/console_recipient_deliveries.sql
	consoleRecipientSQL string
	//go:embed sql/console_attempts.sql
	consoleAttemptsSQL string
	//go:embed sql/console_accounts.sql
	consoleAccountsSQL string
	//go:embed sql/console_outage.sql
	consoleOutageSQL string
	//go:embed sql/console_campaigns.sql
	consoleCampaignsSQL string
	//go:embed sql/console_audience.sql
	consoleAudienceSQL string
)

// Limits of the console's smaller listings.
const (
	maxLiveRuns      = 20
	maxFailureGroups = 20
	maxRateSeconds   = 120
	// maxRateDeliveries bounds the attempts the chart reads: those of the
	// run's most recently updated deliveries.
	maxRateDeliveries = 1000
	maxAccounts       = 200
	maxAttempts       = 500
)

// LiveRuns returns the runs in progress (pending or running), newest first,
// with their counts and how many deliveries each finished in the minute
// before now.
func (s *Store) LiveRuns(ctx context.Context, now time.Time) ([]campaign.LiveRun, error) {
	ids, err := s.ids(ctx, consoleLiveRunsSQL, pgx.NamedArgs{"limit": maxLiveRuns})
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	runs, err := s.RunSummaries(ctx, ids)
	if err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, consoleRecentSendsSQL, pgx.NamedArgs{"runs": ids, "now": now})
	if err != nil {
		return nil, fmt.Errorf("recent sends: %w", err)
	}
	recent := map[int64]int{}
	var id int64
	var n int
	if _, err := pgx.ForEachRow(rows, []any{&id, &n}, func() error { recent[id] = n; return nil }); err != nil {
		return nil, fmt.Errorf("recent sends: %w", err)
	}
	out := make([]campaign.LiveRun, len(runs))
	for i, r := range runs {
		out[i] = campaign.NewLiveRun(r, recent[r.RunID], now)
	}
	slices.Reverse(out)
	return out, nil
}

// Runs returns one page of runs, newest first, with campaign_run_summary's
// figures.
func (s *Store) Runs(ctx context.Context, f campaign.RunFilter) ([]campaign.RunProgress, error) {
	ids, err := s.ids(ctx, consoleRunsSQL, pgx.NamedArgs{
		"before": f.Before, "campaign": f.CampaignID, "status": string(f.Status), "limit": limit(f.Limit),
	})
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	runs, err := s.RunSummaries(ctx, ids)
	if err != nil {
		return nil, err
	}
	slices.Reverse(runs)
	return runs, nil
}

// Run returns one run's figures, or campaign.ErrNotFound.
func (s *Store) Run(ctx context.Context, id int64) (campaign.RunProgress, error) {
	runs, err := s.RunSummaries(ctx, []int64{id})
	if err != nil {
		return campaign.RunProgress{}, err
	}
	if len(runs) == 0 {
		return campaign.RunProgress{}, fmt.Errorf("run %d: %w", id, campaign.ErrNotFound)
	}
	return runs[0], nil
}

// Deliveries returns one page of a run's deliveries.
func (s *Store) Deliveries(ctx context.Context, f campaign.DeliveryFilter) ([]campaign.DeliveryView, error) {
	rows, err := s.pool.Query(ctx, consoleDeliveriesSQL, pgx.NamedArgs{
		"run": f.RunID, "after": f.After, "status": string(f.Status), "code": f.Code, "wc_id": f.WcID,
		"limit": limit(f.Limit),
	})
	if err != nil {
		return nil, fmt.Errorf("deliveries of run %d: %w", f.RunID, err)
	}
	ds, err := pgx.CollectRows(rows, scanDeliveryView)
	if err != nil {
		return nil, fmt.Errorf("deliveries of run %d: %w", f.RunID, err)
	}
	return ds, nil
}

// Failures returns a run's failed and unknown deliveries grouped by code
// and error, largest groups first.
func (s *Store) Failures(ctx context.Context, runID int64) ([]campaign.FailureGroup, error) {
	rows, err := s.pool.Query(ctx, consoleFailuresSQL, pgx.NamedArgs{"run": runID, "limit": maxFailureGroups})
	if err != nil {
		return nil, fmt.Errorf("failures of run %d: %w", runID, err)
	}
	gs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (campaign.FailureGroup, error) {
		var g campaign.FailureGroup
		var status string
		err := row.Scan(&status, &g.Code, &g.Error, &g.Count)
		g.Status = campaign.DeliveryStatus(status)
		return g, err
	})
	if err != nil {
		return nil, fmt.Errorf("failures of run %d: %w", runID, err)
	}
	return gs, nil
}

// RunRate returns a run's attempts per second over the last seconds in
// which it sent, oldest first.
func (s *Store) RunRate(ctx context.Context, runID int64) ([]campaign.RateBucket, error) {
	rows, err := s.pool.Query(ctx, consoleRunRateSQL, pgx.NamedArgs{"run": runID, "limit": maxRateSeconds, "deliveries": maxRateDeliveries})
	if err != nil {
		return nil, fmt.Errorf("rate of run %d: %w", runID, err)
	}
	bs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (campaign.RateBucket, error) {
		var b campaign.RateBucket
		err := row.Scan(&b.At, &b.Count)
		return b, err
	})
	if err != nil {
		return nil, fmt.Errorf("rate of run %d: %w", runID, err)
	}
	slices.Reverse(bs)
	return bs, nil
}

// Recipient returns the newest deliveries one wcId had (at most limit) and
// their attempts with the API's raw answers.
func (s *Store) Recipient(ctx context.Context, wcID string, limit int) ([]campaign.DeliveryView, []campaign.AttemptView, error) {
	rows, err := s.pool.Query(ctx, consoleRecipientSQL, pgx.NamedArgs{"wc_id": wcID, "limit": limit})
	if err != nil {
		return nil, nil, fmt.Errorf("deliveries of a recipient: %w", err)
	}
	ds, err := pgx.CollectRows(rows, scanDeliveryView)
	if err != nil || len(ds) == 0 {
		return nil, nil, wrapIf(err, "deliveries of a recipient")
	}
	ids := make([]int64, len(ds))
	for i, d := range ds {
		ids[i] = d.ID
	}
	rows, err = s.pool.Query(ctx, consoleAttemptsSQL, pgx.NamedArgs{"deliveries": ids, "limit": maxAttempts})
	if err != nil {
		return nil, nil, fmt.Errorf("attempts of a recipient: %w", err)
	}
	as, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (campaign.AttemptView, error) {
		var a campaign.AttemptView
		err := row.Scan(&a.DeliveryID, &a.Attempt, &a.StartedAt, &a.DurationMS, &a.HTTPStatus,
			&a.Code, &a.Outcome, &a.Error, &a.Response)
		return a, err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("attempts of a recipient: %w", err)
	}
	return ds, as, nil
}

// Accounts returns the sending accounts' states, by w_id: every account's,
// or with p.WaitingOnly only those that may not send at p.Now.
func (s *Store) Accounts(ctx context.Context, p campaign.AccountsQuery) ([]campaign.AccountView, error) {
	rows, err := s.pool.Query(ctx, consoleAccountsSQL, pgx.NamedArgs{
		"rate": p.Pacing.PerSecond, "breaker_failures": p.Pacing.BreakerFailures,
		"cool_down_ms": p.Pacing.BreakerCoolDown.Milliseconds(), "since": p.Since, "limit": maxAccounts,
		"now": p.Now, "waiting_only": p.WaitingOnly,
	})
	if err != nil {
		return nil, fmt.Errorf("accounts: %w", err)
	}
	as, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (campaign.AccountView, error) {
		var (
			a                                    campaign.AccountView
			paced, paused, broken, lastFailureAt *time.Time
		)
		if err := row.Scan(&a.WID, &paced, &paused, &broken, &a.ConsecutiveFailures, &lastFailureAt, &a.SentToday); err != nil {
			return a, err
		}
		a.LastFailureAt = orZero(lastFailureAt)
		a.State, a.ReadyAt = accountState(p.Now, orZero(broken), orZero(paused), orZero(paced))
		return a, nil
	})
	if err != nil {
		return nil, fmt.Errorf("accounts: %w", err)
	}
	return as, nil
}

// accountState names the most severe reason an account waits, with when it
// ends.
func accountState(now, broken, paused, paced time.Time) (campaign.AccountState, time.Time) {
	switch {
	case broken.After(now):
		return campaign.AccountBroken, broken
	case paused.After(now):
		return campaign.AccountResting, paused
	case paced.After(now):
		return campaign.AccountPaced, paced
	}
	return campaign.AccountReady, time.Time{}
}

// Outage returns the global pause of sending, zero when there is none.
func (s *Store) Outage(ctx context.Context) (campaign.OutageView, error) {
	var since, until *time.Time
	if err := s.pool.QueryRow(ctx, consoleOutageSQL).Scan(&since, &until); err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return campaign.OutageView{}, fmt.Errorf("api outage: %w", err)
	}
	return campaign.OutageView{Since: orZero(since), PausedUntil: orZero(until)}, nil
}

// Campaigns returns one page of campaigns, newest first, below the keyset
// before (0: from the newest). Audience is not filled in: it costs a read
// of the campaign's lists, which only Campaign does.
func (s *Store) Campaigns(ctx context.Context, before int64, limitN int) ([]campaign.CampaignView, error) {
	return s.campaigns(ctx, pgx.NamedArgs{"before": before, "id": 0, "limit": limit(limitN)})
}

// Campaign returns one campaign with its audience size, or
// campaign.ErrNotFound.
func (s *Store) Campaign(ctx context.Context, id int64) (campaign.CampaignView, error) {
	cs, err := s.campaigns(ctx, pgx.NamedArgs{"before": 0, "id": id, "limit": 1})
	if err != nil {
		return campaign.CampaignView{}, err
	}
	if len(cs) == 0 {
		return campaign.CampaignView{}, fmt.Errorf("campaign %d: %w", id, campaign.ErrNotFound)
	}
	c := cs[0]
	if err := s.pool.QueryRow(ctx, consoleAudienceSQL, pgx.NamedArgs{"id": id}).Scan(&c.Audience); err != nil {
		return c, fmt.Errorf("audience of campaign %d: %w", id, err)
	}
	return c, nil
}

func (s *Store) campaigns(ctx context.Context, args pgx.NamedArgs) ([]campaign.CampaignView, error) {
	rows, err := s.pool.Query(ctx, consoleCampaignsSQL, args)
	if err != nil {
		return nil, fmt.Errorf("campaigns: %w", err)
	}
	cs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (campaign.CampaignView, error) {
		var c campaign.CampaignView
		var err error
		c.CampaignRow, err = scanCampaignRow(withTrailing{row, []any{&c.Error, &c.UpdatedAt}})
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("campaigns: %w", err)
	}
	return cs, nil
}

// ids runs a query that returns one bigint column.
func (s *Store) ids(ctx context.Context, sql string, args pgx.NamedArgs) ([]int64, error) {
	rows, err := s.pool.Query(ctx, sql, args)
	if err != nil {
		return nil, fmt.Errorf("run ids: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("run ids: %w", err)
	}
	return ids, nil
}

// scanDeliveryView reads console_deliveries.sql's columns.
func scanDeliveryView(row pgx.CollectableRow) (campaign.DeliveryView, error) {
	var (
		d      campaign.DeliveryView
		status string
		sentAt *time.Time
	)
	err := row.Scan(&d.ID, &d.RunID, &d.CampaignID, &d.CampaignName, &d.WcID, &status, &d.Attempts,
		&d.LastCode, &d.LastError, &d.MsgID, &d.NewMsgID, &sentAt, &d.UpdatedAt)
	d.Status, d.SentAt = campaign.DeliveryStatus(status), orZero(sentAt)
	return d, err
}

// limit applies campaign.PageSize to a missing or excessive page size.
func limit(n int) int {
	if n <= 0 || n > campaign.PageSize {
		return campaign.PageSize
	}
	return n
}

func orZero(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

func wrapIf(err error, what string) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}
