package db

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/broadcaster/broadcaster/campaign"
)

// The global pause of sending: one row, api_outage, shared by every instance.
var (
	//go:embed sql/outage_state.sql
	outageStateSQL string
	//go:embed sql/outage_open.sql
	outageOpenSQL string
	//go:embed sql/outage_take_probe.sql
	outageTakeProbeSQL string
	//go:embed sql/outage_probe_failed.sql
	outageProbeFailedSQL string
	//go:embed sql/outage_close.sql
	outageCloseSQL string
	//go:embed sql/outage_resting_accounts.sql
	outageRestingAccountsSQL string
)

var _ campaign.OutageStore = (*Store)(nil)

// restingSample bounds the w_ids RestingAccounts names for the log.
const restingSample = 10

// OutageState implements campaign.OutageStore. A missing row (an operator
// deleted it) reads as "not paused".
func (s *Store) OutageState(ctx context.Context, now time.Time) (campaign.OutageState, error) {
	var (
		st                   campaign.OutageState
		since, until, probed *time.Time
		lastErr, owner       *string
	)
	err := s.pool.QueryRow(ctx, outageStateSQL, pgx.NamedArgs{"owner": s.owner, "now": timeOrNull(now)}).
		Scan(&st.Now, &since, &until, &lastErr, &owner, &probed, &st.ProbeMine)
	if errors.Is(err, pgx.ErrNoRows) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("api_outage: %w", err)
	}
	st.Since, st.PausedUntil, st.ProbeUntil = outageTime(since), outageTime(until), outageTime(probed)
	st.LastError, st.ProbeOwner = outageText(lastErr), outageText(owner)
	return st, nil
}

// OpenOutage implements campaign.OutageStore.
func (s *Store) OpenOutage(ctx context.Context, now time.Time, probeIn time.Duration, lastErr string) (bool, error) {
	var opened bool
	err := s.pool.QueryRow(ctx, outageOpenSQL, pgx.NamedArgs{
		"now": timeOrNull(now), "owner": s.owner, "probe_in_ms": probeIn.Milliseconds(), "error": clean(lastErr),
	}).Scan(&opened)
	if err != nil {
		return false, fmt.Errorf("pause sending: %w", err)
	}
	return opened, nil
}

// TakeProbe implements campaign.OutageStore.
func (s *Store) TakeProbe(ctx context.Context, now time.Time, lease time.Duration) (bool, error) {
	var until time.Time
	err := s.pool.QueryRow(ctx, outageTakeProbeSQL, pgx.NamedArgs{
		"now": timeOrNull(now), "owner": s.owner, "lease_ms": lease.Milliseconds(),
	}).Scan(&until)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("take the API probe: %w", err)
	}
	return true, nil
}

// ProbeFailed implements campaign.OutageStore.
func (s *Store) ProbeFailed(ctx context.Context, now time.Time, wait time.Duration, lastErr string) error {
	_, err := s.pool.Exec(ctx, outageProbeFailedSQL, pgx.NamedArgs{
		"now": timeOrNull(now), "owner": s.owner, "wait_ms": wait.Milliseconds(), "error": clean(lastErr),
	})
	if err != nil {
		return fmt.Errorf("end the API probe: %w", err)
	}
	return nil
}

// CloseOutage implements campaign.OutageStore.
func (s *Store) CloseOutage(ctx context.Context, now time.Time) (bool, error) {
	tag, err := s.pool.Exec(ctx, outageCloseSQL, pgx.NamedArgs{"now": timeOrNull(now)})
	if err != nil {
		return false, fmt.Errorf("resume sending: %w", err)
	}
	return tag.RowsAffected() > 0, nil
}

// RestingAccounts implements campaign.OutageStore.
func (s *Store) RestingAccounts(ctx context.Context, p campaign.Pacing, now time.Time) (campaign.RestingAccounts, error) {
	var r campaign.RestingAccounts
	err := s.pool.QueryRow(ctx, outageRestingAccountsSQL, pgx.NamedArgs{
		"now": timeOrNull(now), "failures": p.BreakerFailures, "cool_down_ms": p.BreakerCoolDown.Milliseconds(), "sample": restingSample,
	}).Scan(&r.Count, &r.Sample)
	if err != nil {
		return r, fmt.Errorf("count resting accounts: %w", err)
	}
	return r, nil
}

func outageTime(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

func outageText(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
