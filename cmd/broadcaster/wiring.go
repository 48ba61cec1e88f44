package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/broadcaster/broadcaster/campaign"
	"github.com/broadcaster/broadcaster/db"
	"github.com/broadcaster/broadcaster/internal/config"
	"github.com/broadcaster/broadcaster/internal/journal"
	"github.com/broadcaster/broadcaster/sender"
)

// openDB connects to the configured database.
func (a *app) openDB(ctx context.Context) (*pgxpool.Pool, error) {
	if err := a.cfg.RequireDatabase(); err != nil {
		return nil, err
	}
	pool, err := db.Open(ctx, a.cfg.Database.URL, a.cfg.Workers.Concurrency+4)
	if err != nil {
		return nil, fmt.Errorf("cannot reach the database at %s: %w", config.RedactURL(a.cfg.Database.URL), err)
	}
	a.log.Debug().Str("database", config.RedactURL(a.cfg.Database.URL)).Msg("connected to the database")
	return pool, nil
}

// openStore connects and checks that the database holds every migration
// this binary needs and none that it must refuse.
func (a *app) openStore(ctx context.Context) (*db.Store, func(), error) {
	pool, err := a.openCheckedDB(ctx)
	if err != nil {
		return nil, nil, err
	}
	return db.NewStore(pool, owner()), pool.Close, nil
}

// openCheckedDB connects and checks the schema as openStore does, for the
// commands that need the database but not the sending store.
func (a *app) openCheckedDB(ctx context.Context) (*pgxpool.Pool, error) {
	pool, err := a.openDB(ctx)
	if err != nil {
		return nil, err
	}
	if err := db.CheckSchema(ctx, pool); err != nil {
		pool.Close()
		return nil, fmt.Errorf("%w; fix: %s", err, schemaFix(err))
	}
	return pool, nil
}

// owner names this process in deliveries.claimed_by: host, pid and a random
// suffix, so that a restarted process with a reused pid never mistakes the
// claims of its dead predecessor for its own (it reaps them instead).
func owner() string {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown"
	}
	return host + ":" + strconv.Itoa(os.Getpid()) + ":" + strconv.FormatUint(rand.Uint64()%1e6, 36)
}

// newSender builds the sendApplet client from the api section.
func (a *app) newSender() (*sender.Client, error) {
	if err := a.cfg.RequireAPI(); err != nil {
		return nil, err
	}
	return sender.New(sender.Options{
		BaseURL:    a.cfg.API.BaseURL,
		Token:      a.cfg.API.Token,
		Timeout:    a.cfg.API.Timeout,
		MaxConns:   a.cfg.Workers.Concurrency,
		RetryCodes: a.cfg.Retry.Codes,
	})
}

// outageConfig maps the configuration onto the global pause's settings:
// campaign's defaults, with the dispatcher's lease and pacing.
func (a *app) outageConfig() campaign.OutageConfig {
	d := a.dispatchConfig()
	return campaign.OutageConfig{
		Failures:      campaign.DefaultOutageFailures,
		ProbeEvery:    campaign.DefaultProbeEvery,
		MaxProbeEvery: campaign.DefaultMaxProbeEvery,
		ProbeLease:    d.Lease,
		Refresh:       campaign.DefaultOutageRefresh,
		Accounts:      d.Pacing,
	}
}

// openJournal opens and locks results.journal, for the results of store's
// database, when it is set; when it is not, the journal is nil and closing
// it does nothing.
func (a *app) openJournal(ctx context.Context, store *db.Store) (*journal.File, func(), error) {
	path := a.cfg.Results.Journal
	if path == "" {
		return nil, func() {}, nil
	}
	id, err := store.Identity(ctx)
	if err != nil {
		return nil, nil, err
	}
	j, err := journal.Open(path, id, a.log)
	if err != nil {
		return nil, nil, fmt.Errorf("results.journal: %w", err)
	}
	a.log.Debug().Str("journal", path).Msg("results journal open")
	return j, func() {
		if err := j.Close(); err != nil {
			a.log.Warn().Err(err).Msg("could not close the results journal")
		}
	}, nil
}

// dispatchConfig maps the configuration onto the dispatcher's settings.
func (a *app) dispatchConfig() campaign.DispatchConfig {
	c := a.cfg
	return campaign.DispatchConfig{
		Concurrency: c.Workers.Concurrency,
		Retry: campaign.RetryPolicy{
			MaxAttempts: c.Retry.MaxAttempts,
			Backoff:     c.Retry.Backoff,
			MaxBackoff:  c.Retry.MaxBackoff,
			Ambiguous:   c.Retry.Ambiguous,
		},
		Pacing: campaign.Pacing{
			PerSecond:       c.RateLimit.PerAccount,
			Burst:           c.RateLimit.Burst,
			Jitter:          c.RateLimit.Jitter,
			BreakerFailures: c.Breaker.ConsecutiveFailures,
			BreakerCoolDown: c.Breaker.CoolDown,
		},
		// SPEC §6: a delivery left sending by a dead process is reaped
		// within api.timeout + 10s: the lease plus the reap interval.
		Lease:        c.API.Timeout + campaign.LeaseMargin,
		PollInterval: c.Scheduler.PollInterval,
		Location:     c.Scheduler.Location,
		StopTimeout:  c.API.Timeout + campaign.LeaseMargin,
	}
}
