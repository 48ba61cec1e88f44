package metrics

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/broadcaster/broadcaster/campaign"
)

// Check is one named condition of a probe: /livez runs the Server's Live
// checks, /readyz (and its alias /healthz) its Ready checks. Checks are a
// list so that each part of the process brings its own (the database, the
// scheduler, a global pause of the API) without the server knowing them.
type Check struct {
	// Name says what is checked, e.g. "database"; the probe's answer
	// names the checks that failed.
	Name string
	// Err returns nil when the condition holds, else why not. It must
	// return when ctx ends. Its message is served to whoever reaches
	// http.listen, so it must not hold secrets or connection details:
	// wrap such a cause in a Failure, whose cause is logged, not served.
	Err func(context.Context) error
}

// Failure is a failed check's error whose cause stays out of the HTTP
// answer: a driver's error names the database's user, host, port and
// database, which the probes must not tell whoever can reach them. Error
// returns the Reason only; the server logs the Cause. Both are visible to
// errors.Is and errors.As.
type Failure struct {
	Reason error // served, e.g. ErrDatabaseUnreachable
	Cause  error // logged only
}

// Error returns the public reason.
func (f *Failure) Error() string { return f.Reason.Error() }

// Unwrap exposes the reason and the cause.
func (f *Failure) Unwrap() []error { return []error{f.Reason, f.Cause} }

// ErrDatabaseUnreachable is the reason of a failed database check: the
// process can neither claim nor record.
var ErrDatabaseUnreachable = errors.New("database unreachable")

// ErrSchedulerStale is wrapped by a failed scheduler check: the scheduler
// has not completed a tick for too long, so due campaigns are not started.
var ErrSchedulerStale = errors.New("scheduler stalled")

// DatabaseCheck is the readiness check "database": ping (e.g. the pool's
// Ping) must succeed. It fails with a Failure whose Reason is
// ErrDatabaseUnreachable and whose Cause is ping's error.
func DatabaseCheck(ping func(context.Context) error) Check {
	return Check{Name: "database", Err: func(ctx context.Context) error {
		if err := ping(ctx); err != nil {
			return &Failure{Reason: ErrDatabaseUnreachable, Cause: err}
		}
		return nil
	}}
}

// SchedulerCheck is the readiness check "scheduler": lastTick says when the
// scheduler last completed a tick that fully succeeded, and maxAge how old
// that may be (e.g. three poll intervals). Before the first tick the age
// counts from SchedulerCheck's call, so a process starting up is given
// maxAge to tick. clock nil means the wall clock. A database outage fails
// this check too, since no tick succeeds without the database.
func SchedulerCheck(lastTick func() time.Time, maxAge time.Duration, clock campaign.Clock) Check {
	if clock == nil {
		clock = campaign.SystemClock{}
	}
	started := clock.Now()
	return Check{Name: "scheduler", Err: func(context.Context) error {
		now := clock.Now()
		last := lastTick()
		if last.IsZero() {
			if age := now.Sub(started); age > maxAge {
				return fmt.Errorf("%w: no successful tick in %s since start (limit %s)", ErrSchedulerStale,
					age.Round(time.Second), maxAge)
			}
			return nil
		}
		if age := now.Sub(last); age > maxAge {
			return fmt.Errorf("%w: last successful tick %s ago (limit %s)", ErrSchedulerStale,
				age.Round(time.Second), maxAge)
		}
		return nil
	}}
}
