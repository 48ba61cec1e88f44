package main

import (
	"context"
	"time"

	"github.com/sourcegraph/conc"

	"github.com/broadcaster/broadcaster/campaign"
)

// campaignLeaseMargin is added to api.timeout to make a claim's lease: the
// longest a live process can hold a delivery without recording it.
const campaignLeaseMargin = 10 * time.Second

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
	sched := campaign.NewScheduler(store, campaign.SystemClock{}, a.log)
	disp := campaign.NewDispatcher(store, snd, a.dispatchConfig(), a.log)
	if *once {
		return runOnce(ctx, a, sched, disp)
	}
	return runDaemon(ctx, a, sched, disp)
}

// runOnce is the batch job: the runs due now, sent to the end.
func runOnce(ctx context.Context, a *app, sched *campaign.Scheduler, disp *campaign.Dispatcher) error {
	started := time.Now()
	runs, err := sched.CreateDueRuns(ctx)
	if err != nil {
		return err
	}
	if err := disp.Drain(ctx); err != nil {
		return err
	}
	a.log.Info().Int("runs_created", len(runs)).Dur("took", time.Since(started)).
		Bool("interrupted", ctx.Err() != nil).Msg("batch done")
	return nil
}

// runDaemon schedules and sends until ctx ends, then stops gracefully.
func runDaemon(ctx context.Context, a *app, sched *campaign.Scheduler, disp *campaign.Dispatcher) error {
	a.log.Info().Int("concurrency", a.cfg.Workers.Concurrency).Msg("broadcaster running")
	var wg conc.WaitGroup
	wg.Go(func() {
		if err := disp.Run(ctx); err != nil {
			a.log.Error().Err(err).Msg("dispatcher stopped")
		}
	})
	tick := time.NewTicker(a.cfg.Scheduler.PollInterval)
	defer tick.Stop()
	for ctx.Err() == nil {
		runs, err := sched.CreateDueRuns(ctx)
		if err != nil && ctx.Err() == nil {
			a.log.Error().Err(err).Msg("could not create due runs")
		}
		if len(runs) > 0 {
			disp.Wake()
		}
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
	}
	a.log.Info().Msg("stopping: finishing in-flight sends")
	wg.Wait()
	a.log.Info().Msg("stopped")
	return nil
}
