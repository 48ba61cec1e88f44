package db

import (
	"context"
	_ "embed"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/broadcaster/broadcaster/campaign"
)

// The queries behind `broadcaster check`. check_audience.sql takes no
// parameters, so operators can run it as it is in psql.
var (
	//go:embed sql/check_campaigns.sql
	checkCampaignsSQL string
	//go:embed sql/check_audience.sql
	checkAudienceSQL string
)

// CheckedCampaign is a campaign as `check` examines it: the row with its
// template, read as the scheduler reads it, and the reason stored when it
// was marked invalid.
type CheckedCampaign struct {
	campaign.CampaignRow
	// Error is campaigns.error: why the campaign was marked invalid; "" if
	// it was not.
	Error string
}

// CheckCampaigns returns the active, paused and invalid campaigns with their
// templates, in id order.
func (s *Store) CheckCampaigns(ctx context.Context) ([]CheckedCampaign, error) {
	rows, err := s.pool.Query(ctx, checkCampaignsSQL)
	if err != nil {
		return nil, fmt.Errorf("campaigns to check: %w", err)
	}
	cs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (CheckedCampaign, error) {
		var c CheckedCampaign
		var err error
		c.CampaignRow, err = scanCampaignRow(withTrailing{row, []any{&c.Error}})
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("campaigns to check: %w", err)
	}
	return cs, nil
}

// AudienceFinding is one thing check_audience.sql found about the
// recipients of an active or paused campaign, resolved as run creation
// resolves them.
type AudienceFinding struct {
	CampaignID   int64
	CampaignName string
	// Problem is true for what must be fixed (lists that do not exist, no
	// recipients, malformed wcIds, nobody left to send to) and false for a
	// note (suppressed recipients, empty lists).
	Problem bool
	// Message says what was found, with counts and an example.
	Message string
	// Fix says what to do about a problem; "" for notes.
	Fix string
}

// CheckAudiences returns the findings about every active and paused
// campaign's audience, by campaign id, problems first.
func (s *Store) CheckAudiences(ctx context.Context) ([]AudienceFinding, error) {
	rows, err := s.pool.Query(ctx, checkAudienceSQL)
	if err != nil {
		return nil, fmt.Errorf("check audiences: %w", err)
	}
	fs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (AudienceFinding, error) {
		var f AudienceFinding
		err := row.Scan(&f.CampaignID, &f.CampaignName, &f.Problem, &f.Message, &f.Fix)
		return f, err
	})
	if err != nil {
		return nil, fmt.Errorf("check audiences: %w", err)
	}
	return fs, nil
}
