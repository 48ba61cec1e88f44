package main

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sourcegraph/conc"

	"github.com/broadcaster/broadcaster/campaign"
	"github.com/broadcaster/broadcaster/db"
	"github.com/broadcaster/broadcaster/internal/metrics"
)

// services are the parts of a running broadcaster, wired by hand.
type services struct {
	store     *db.Store
	registry  *prometheus.Registry
	scheduler *campaign.Scheduler
	dispatch  *campaign.Dispatcher
	progress  *campaign.Progress
	probes    probes
	outage    *campaign.Outage
	maintain  *campaign.Maintenance
}

func runRun(ctx context.Context, a *app, args []string) error {
	fs := a.flags("run", "[--once]")
	once := fs.Bool("once", false, "batch job: create the runs due now, send until no delivery of an active campaign is pending or sending, exit 0")
	if err := a.parse(fs, args); err != nil {
		return err
	}
	snd, err := a.newSender()
	if err != nil {
		return err
	}
	defer snd.CloseIdleConnections()
	store, closeDB, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer closeDB()
	jnl, closeJournal, err := a.openJournal(ctx, store)
	if err != nil {
		return err
	}
	defer closeJournal()

	s := &services{store: store, registry: metrics.NewRegistry(), probes: a.newProbes()}
	m, err := metrics.New(s.registry, campaign.SystemClock{})
	if err != nil {
		return err
	}
	if err := s.registry.Register(metrics.NewPendingCollector(store.PendingCount, metrics.DefaultPendingTimeout)); err != nil {
		return err
	}
	s.outage = campaign.NewOutage(store, campaign.SystemClock{}, a.log, a.outageConfig())
	if err := metrics.RegisterBreakers(s.registry, s.outage); err != nil {
		return err
	}
	s.progress = campaign.NewProgress(store, campaign.SystemClock{}, a.log, campaign.DefaultProgressEvery)
	deliveries := s.probes.dispatcher.DeliveryStore(s.progress.DeliveryStore(m.DeliveryStore(store)))
	dcfg := a.dispatchConfig()
	dcfg.Outage = s.outage
	if jnl != nil {
		dcfg.Journal = jnl
		opts := campaign.ReplayOptions{}
		if *once {
			// As long as it waits for the database while sending; the
			// journal is kept and cron runs the job again.
			opts.GiveUpAfter = campaign.DefaultGiveUpAfter
		}
		// Before anything is claimed: see campaign.ReplayJournal.
		if _, err := campaign.ReplayJournal(ctx, jnl, deliveries, a.log, opts); err != nil {
			return err
		}
	}
	s.dispatch = campaign.NewDispatcher(deliveries, m.Sender(snd), dcfg, a.log)
	s.scheduler = campaign.NewScheduler(s.probes.scheduler.RunStore(m.RunStore(store)), campaign.SystemClock{}, a.log,
		campaign.WithTimezone(a.cfg.Scheduler.Location),
		campaign.WithMisfireGrace(a.cfg.Scheduler.MisfireGrace),
		campaign.WithPollInterval(a.cfg.Scheduler.PollInterval),
		campaign.WithOnRuns(func([]campaign.Run) { s.dispatch.Wake() }))
	if *once {
		return runOnce(ctx, a, s)
	}
	s.maintain = campaign.NewMaintenance(db.NewRetention(store.Pool(), version()), campaign.SystemClock{}, a.log,
		campaign.MaintenanceConfig{PruneAfter: a.cfg.Retention.PruneAfter, ArchiveDir: a.cfg.Retention.ArchiveDir})
	return runDaemon(ctx, a, s)
}

// runOnce is the batch job: one scheduler pass (cancellations, ended
// campaigns, the runs due now), then everything sent to the end, with
// progress lines while it sends.
func runOnce(ctx context.Context, a *app, s *services) error {
	started := time.Now()
	// A scheduler failure (one campaign's run could not be created) must not
	// stop the others from sending; it still makes the exit code 1.
	tickErr := s.scheduler.Tick(ctx)
	if tickErr != nil {
		a.log.Error().Err(tickErr).Msg("scheduler pass failed; sending what is due anyway")
	}
	progressCtx, stopProgress := context.WithCancel(ctx)
	var wg conc.WaitGroup
	wg.Go(func() { _ = s.progress.Run(progressCtx) })
	stopOutage := s.runOutage(ctx, a)
	err := s.dispatch.Drain(ctx)
	stopOutage()
	stopProgress()
	wg.Wait()
	if err != nil {
		return err
	}
	a.log.Info().Dur("took", time.Since(started)).
		Bool("interrupted", ctx.Err() != nil).Msg("batch done")
	return tickErr
}

// runDaemon runs every service until ctx ends, then stops them gracefully:
// the dispatcher stops claiming and records what is in flight.
func runDaemon(ctx context.Context, a *app, s *services) error {
	srv, err := a.httpServer(ctx, s)
	if err != nil {
		return err
	}
	listener := db.NewListener(a.cfg.Database.URL, a.log, func(campaign.Change) { s.wake() })
	a.log.Info().Int("concurrency", a.cfg.Workers.Concurrency).Str("http", a.cfg.HTTP.Listen).
		Float64("per_account", a.cfg.RateLimit.PerAccount).Msg("broadcaster running")

	var (
		wg          conc.WaitGroup
		dispatchErr error
	)
	stopOutage := s.runOutage(ctx, a)
	wg.Go(func() {
		dispatchErr = s.dispatch.Run(ctx)
		stopOutage()
	})
	wg.Go(func() { logStop(a, "scheduler", s.scheduler.Run(ctx)) })
	wg.Go(func() { logStop(a, "listener", listener.Run(ctx)) })
	wg.Go(func() { logStop(a, "progress", s.progress.Run(ctx)) })
	wg.Go(func() { logStop(a, "partition maintenance", s.maintain.Run(ctx)) })
	if srv != nil {
		wg.Go(func() { logStop(a, "http server", srv.Run(ctx)) })
	}
	<-ctx.Done()
	a.log.Info().Msg("stopping: finishing in-flight sends")
	wg.Wait()
	if dispatchErr != nil {
		return dispatchErr // results not recorded: exit 1, not a clean stop
	}
	a.log.Info().Msg("stopped")
	return nil
}

// runOutage reads the shared API pause once, so that no claim goes out
// before a pause decided elsewhere is known, then runs it until the returned
// stop is called: after the dispatcher, so that the results of its last sends
// (a probe's among them) still reach the other instances.
func (s *services) runOutage(ctx context.Context, a *app) (stop func()) {
	if err := s.outage.Refresh(ctx); err != nil && ctx.Err() == nil {
		a.log.Warn().Err(err).Msg("could not read the shared API pause state; trying again")
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var wg conc.WaitGroup
	wg.Go(func() { logStop(a, "api outage", s.outage.Run(ctx)) })
	return func() {
		cancel()
		wg.Wait()
	}
}

// wake tells the scheduler and the dispatcher that campaigns changed: the
// scheduler creates runs and applies cancellations, the dispatcher claims
// (a resumed campaign's deliveries, a new run's).
func (s *services) wake() {
	s.scheduler.Wake()
	s.dispatch.Wake()
}

// httpServer binds http.listen, if set, so a taken address fails start-up.
func (a *app) httpServer(ctx context.Context, s *services) (*metrics.Server, error) {
	if a.cfg.HTTP.Listen == "" {
		return nil, nil
	}
	srv := &metrics.Server{Addr: a.cfg.HTTP.Listen, Registry: s.registry, Live: s.probes.live(), Ready: a.ready(s), Log: a.log}
	if a.cfg.HTTP.Console {
		c, err := a.newConsole(s.store)
		if err != nil {
			return nil, err
		}
		srv.Fallback = c
		// The console's pages can take longer than a probe: a recipient
		// with many attempts, a large run's figures.
		srv.WriteTimeout = 30 * time.Second
	}
	addr, err := srv.Listen(ctx)
	if err != nil {
		return nil, fmt.Errorf("http.listen: %w", err)
	}
	a.log.Info().Str("addr", addr.String()).Bool("console", a.cfg.HTTP.Console).Msg("serving /healthz and /metrics")
	if a.onHTTP != nil {
		a.onHTTP(addr)
	}
	return srv, nil
}

func logStop(a *app, what string, err error) {
	if err != nil {
		a.log.Error().Err(err).Str("service", what).Msg("service stopped with an error")
	}
}
