package main

import (
	"context"
	"errors"
	"time"

	"github.com/broadcaster/broadcaster/campaign"
	"github.com/broadcaster/broadcaster/internal/metrics"
)

// probes are the checks of the daemon's /livez and /readyz (SPEC §8), and
// the watches that feed /livez from the scheduler's and the dispatcher's
// calls to their stores.
type probes struct {
	scheduler, dispatcher *metrics.LoopWatch
}

// newProbes watches the scheduler and the dispatcher. A loop is wedged when
// no store call of its own has returned for three poll intervals plus
// api.timeout plus a minute, with none in progress: the scheduler calls its
// store every poll interval, the dispatcher every few seconds, and neither
// waits longer than a request outside a store call.
func (a *app) newProbes() probes {
	limit := 3*a.cfg.Scheduler.PollInterval + a.cfg.API.Timeout + time.Minute
	return probes{
		scheduler:  metrics.NewLoopWatch("scheduler", limit, nil),
		dispatcher: metrics.NewLoopWatch("dispatcher", limit, nil),
	}
}

// live are /livez's checks: the loops go around.
func (p probes) live() []metrics.Check {
	return []metrics.Check{p.scheduler.Check(), p.dispatcher.Check()}
}

// ready are /readyz's (and /healthz's) checks: the database answers, the
// scheduler completed a tick within three poll intervals and 10s, and
// sending is not paused for a whole-API outage. Add a check here for
// anything else that stops this process from sending.
func (a *app) ready(s *services) []metrics.Check {
	return []metrics.Check{
		metrics.DatabaseCheck(s.store.Pool().Ping),
		metrics.SchedulerCheck(s.scheduler.LastTick, 3*a.cfg.Scheduler.PollInterval+10*time.Second, nil),
		apiCheck(s.outage),
	}
}

// errAPIPaused is the served reason of a failed "api" check; the cause, with
// the API's address in its error text, goes to the log only.
var errAPIPaused = errors.New("sending paused: the API as a whole is failing (global breaker open)")

// apiCheck is the readiness check "api": sending is not paused globally. The
// account breaker never fails it: one resting account is that account's
// business, and /metrics counts them (broadcaster_accounts_resting).
func apiCheck(o *campaign.Outage) metrics.Check {
	return metrics.Check{Name: "api", Err: func(ctx context.Context) error {
		if err := o.Err(ctx); err != nil {
			return &metrics.Failure{Reason: errAPIPaused, Cause: err}
		}
		return nil
	}}
}
