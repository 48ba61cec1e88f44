package db

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/rs/zerolog"

	"github.com/broadcaster/broadcaster/campaign"
)

// Listener receives the campaigns trigger's notifications on a connection of
// its own (a pooled connection would be handed to other queries) and passes
// them on, so that a campaign inserted or paused with SQL takes effect at
// once rather than at the next poll.
type Listener struct {
	url      string
	log      zerolog.Logger
	onChange func(campaign.Change)

	// MinBackoff and MaxBackoff bound the wait between reconnection
	// attempts after the connection is lost (a database restart).
	MinBackoff, MaxBackoff time.Duration
}

// NewListener returns a listener on the database at url calling onChange for
// each notification, and with a zero Change after every (re)connect.
func NewListener(url string, log zerolog.Logger, onChange func(campaign.Change)) *Listener {
	return &Listener{url: url, log: log, onChange: onChange, MinBackoff: 250 * time.Millisecond, MaxBackoff: 10 * time.Second}
}

// Run listens until ctx ends, reconnecting whenever the connection is lost.
func (l *Listener) Run(ctx context.Context) error {
	backoff := l.MinBackoff
	for ctx.Err() == nil {
		connected, err := l.listen(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if connected {
			backoff = l.MinBackoff
		}
		l.log.Warn().Err(err).Dur("retry_in", backoff).Msg("campaign notifications interrupted; reconnecting")
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, l.MaxBackoff)
	}
	return nil
}

// listen connects, subscribes and delivers notifications until the
// connection fails. connected reports whether it got as far as listening.
func (l *Listener) listen(ctx context.Context) (connected bool, err error) {
	cfg, err := pgx.ParseConfig(l.url)
	if err != nil {
		return false, fmt.Errorf("parse database url: %w", err)
	}
	cfg.RuntimeParams["application_name"] = "broadcaster-listener"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return false, fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, listenSQL); err != nil {
		return false, fmt.Errorf("listen: %w", err)
	}
	l.log.Debug().Msg("listening for campaign notifications")
	l.onChange(campaign.Change{}) // catch up on what happened while away
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return true, fmt.Errorf("wait for notification: %w", err)
		}
		var p struct {
			ID     int64  `json:"id"`
			Status string `json:"status"`
		}
		if err := json.Unmarshal([]byte(n.Payload), &p); err != nil {
			l.log.Warn().Str("payload", n.Payload).Msg("unreadable campaign notification")
			p.ID = 0
		}
		l.onChange(campaign.Change{CampaignID: p.ID, Status: campaign.Status(p.Status)})
	}
}
