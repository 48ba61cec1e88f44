package chaos

import (
	"context"
	"fmt"
	"time"

	"github.com/broadcaster/broadcaster/internal/child"
	"github.com/broadcaster/broadcaster/sender/sendertest"
)

// A Fault does something harsh to a running broadcaster and then lets a
// healthy one finish the campaign, so that everything is final for Tally.
type Fault func(ctx context.Context, r *Rig) error

// Run runs fault in a rig of its own and tallies the outcome. The tally is
// returned even when the fault failed, as far as it could be taken.
func Run(ctx context.Context, opts Options, fault Fault) (Tally, error) {
	r, err := NewRig(ctx, opts)
	if err != nil {
		return Tally{}, err
	}
	defer r.Close()
	ferr := fault(ctx, r)
	t, err := r.Tally(ctx)
	if ferr != nil {
		return t, ferr
	}
	return t, err
}

// recordFailed is the start of the log line of a failed write of results.
const recordFailed = "could not record results"

// PostgresRestart stops PostgreSQL mid-run while results are on their way
// and starts it again after Opts.Outage; the daemon carries on and finishes.
func PostgresRestart(ctx context.Context, r *Rig) error {
	p, err := r.Start("run")
	if err != nil {
		return err
	}
	if err := r.midRun(ctx, 4); err != nil {
		return err
	}
	if err := r.haltWithResultsInFlight(ctx, p); err != nil {
		return err
	}
	if err := hold(ctx, r.Opts.Outage); err != nil {
		return err
	}
	if err := r.PG.Resume(ctx); err != nil {
		return err
	}
	if err := r.WaitDatabase(ctx, "the campaign to finish", openSQL, none); err != nil {
		return err
	}
	if code, err := p.Stop(ctx); err != nil || code != 0 {
		return fmt.Errorf("SIGTERM after the outage: exit %d (%v), want 0", code, err)
	}
	return nil
}

// PostgresDownThenKill stops PostgreSQL mid-run while results are on their
// way, starts it again once writing them has failed four times, lets the daemon send a little
// more, and kills it (SIGKILL) before it has written everything: the
// results it held in memory are lost, unless journalled. Before the kill,
// the fake API stops confirming anything (requests hang), so that no answer
// is on the wire at the kill: a confirmed send is then one the daemon had in
// hand; and the role loses the right to write results, so that the database
// cannot catch up while the journal is checked. A new `run --once`
// finishes the campaign.
func PostgresDownThenKill(ctx context.Context, r *Rig) error {
	p, err := r.Start("run")
	if err != nil {
		return err
	}
	if err := r.midRun(ctx, 4); err != nil {
		return err
	}
	if err := r.haltWithResultsInFlight(ctx, p); err != nil {
		return err
	}
	// Down until the writer of results has failed a few times and backs
	// off for seconds, as it does in a real outage.
	if err := p.WaitLog(ctx, recordFailed, 4); err != nil {
		return err
	}
	if err := r.PG.Resume(ctx); err != nil {
		return err
	}
	after := r.API.Stats().Sent + 2*r.Opts.Concurrency + 1
	if err := r.WaitAPI(ctx, "sends after the restart", func(s sendertest.Stats) bool { return s.Sent >= after }); err != nil {
		return err
	}
	if err := r.stopConfirming(ctx); err != nil {
		return err
	}
	// Nothing more reaches the database from here on, so that what the
	// daemon holds unwritten at the kill is what it held now, and the check
	// below cannot be met by the database catching up.
	if err := r.BlockWrites(ctx); err != nil {
		return err
	}
	if r.Journal != "" {
		// Within a sync of each answer's arrival; seconds are plenty.
		jctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := r.journalled(jctx)
		cancel()
		if err != nil {
			return err
		}
	}
	if err := p.Kill(); err != nil {
		return err
	}
	r.API.Update(func(c *sendertest.Config) { c.Fault = sendertest.Fault{} })
	if err := r.AllowWrites(ctx); err != nil {
		return err
	}
	return r.finish(ctx)
}

// RoleCannotWrite runs the daemon as a role that may claim deliveries but
// not insert their attempts (no right on delivery_attempts' sequence), as
// a botched grant would. Once two writes of results have failed it is
// stopped with SIGTERM; the right is granted back and a new `run --once`
// finishes the campaign.
func RoleCannotWrite(ctx context.Context, r *Rig) error {
	if err := r.BlockWrites(ctx); err != nil {
		return err
	}
	p, err := r.Start("run")
	if err != nil {
		return err
	}
	if err := p.WaitLog(ctx, recordFailed, 2); err != nil {
		return err
	}
	if _, err := p.Stop(ctx); err != nil { // exit 1: results not recorded
		return err
	}
	if err := r.AllowWrites(ctx); err != nil {
		return err
	}
	return r.finish(ctx)
}

// KillMidRun kills the daemon (SIGKILL) while it sends; a new `run --once`
// finishes the campaign once the dead one's claims are reaped.
func KillMidRun(ctx context.Context, r *Rig) error {
	p, err := r.Start("run")
	if err != nil {
		return err
	}
	if err := r.midRun(ctx, 3); err != nil {
		return err
	}
	if err := p.Kill(); err != nil {
		return err
	}
	return r.finish(ctx)
}

// StopMidRun stops the daemon with SIGTERM while it sends: it must exit 0
// with no delivery left `sending` (SPEC §6). A new `run --once` finishes.
func StopMidRun(ctx context.Context, r *Rig) error {
	p, err := r.Start("run")
	if err != nil {
		return err
	}
	if err := r.midRun(ctx, 4); err != nil {
		return err
	}
	code, err := p.Stop(ctx)
	if err != nil {
		return err
	}
	stranded, err := r.Count(ctx, `SELECT count(*) FROM deliveries WHERE status = 'sending'`)
	if err != nil {
		return err
	}
	if code != 0 || stranded != 0 {
		return fmt.Errorf("SIGTERM: exit %d with %d deliveries left sending, want 0 and 0", code, stranded)
	}
	return r.finish(ctx)
}

// openSQL counts the deliveries not final yet.
const openSQL = `SELECT count(*) FROM deliveries WHERE status IN ('pending', 'sending')`

func none(n int) bool { return n == 0 }

// midRun waits until the API has sent to 1/part of the recipients.
func (r *Rig) midRun(ctx context.Context, part int) error {
	want := r.Opts.Recipients / part
	return r.WaitAPI(ctx, "the run to get going", func(s sendertest.Stats) bool { return s.Sent >= want })
}

// haltWithResultsInFlight stops PostgreSQL while requests are in flight,
// so that their results certainly find the database gone, and waits until
// the daemon p says it could not write them.
func (r *Rig) haltWithResultsInFlight(ctx context.Context, p *child.Process) error {
	const slow = 300 * time.Millisecond // far longer than sending SIGINT to postgres takes
	r.API.Update(func(c *sendertest.Config) { c.Latency = slow })
	before := r.API.Stats().Requests
	err := r.WaitAPI(ctx, "a slow request", func(s sendertest.Stats) bool { return s.Requests > before })
	if err != nil {
		return err
	}
	if err := r.PG.Halt(); err != nil {
		return err
	}
	r.API.Update(func(c *sendertest.Config) { c.Latency = r.Opts.Latency })
	return p.WaitLog(ctx, recordFailed, 1)
}

// stopConfirming makes every new request hang and waits until every
// earlier one has been answered.
func (r *Rig) stopConfirming(ctx context.Context) error {
	r.API.Update(func(c *sendertest.Config) { c.Fault = sendertest.Hang() })
	return r.WaitAPI(ctx, "the answers already due", func(sendertest.Stats) bool {
		for _, q := range r.API.Requests() {
			if q.Fault != sendertest.FaultHang && q.Status == 0 {
				return false
			}
		}
		return true
	})
}

// finish runs `run --once` to the end: it replays a journal, reaps what
// dead processes left `sending` once their lease is over, and sends the
// rest.
func (r *Rig) finish(ctx context.Context) error {
	code, err := r.Run(ctx, "run", "--once")
	if err != nil || code != 0 {
		return fmt.Errorf("run --once to finish: exit %d (%v)", code, err)
	}
	return nil
}

// hold lets a fault last d: a duration of the scenario, not a wait for
// something to happen.
func hold(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// Experiment is a row of `make chaos`'s table.
type Experiment struct {
	Name    string
	Journal bool
	Latency time.Duration // of the fake API; 0: the default
	Fault   Fault
	// InFlight says the fault kills broadcaster while requests are in
	// flight, so the journal cannot bring the loss to zero: an answer the
	// API sent just before the kill never reached the process. (The
	// database faults stop the API from confirming before the kill.)
	InFlight bool
}

// Bound is how many API-confirmed sends e may leave not recorded as sent.
func (e Experiment) Bound(opts Options) int {
	if e.InFlight {
		return opts.withDefaults().Concurrency
	}
	return Bound(opts)
}

// Experiments are the faults of issue 8 that `make chaos` runs.
func Experiments() []Experiment {
	return []Experiment{
		{Name: "PostgreSQL restart mid-run", Fault: PostgresRestart},
		{Name: "PostgreSQL down, then kill -9", Fault: PostgresDownThenKill},
		{Name: "PostgreSQL down, then kill -9 (journal)", Journal: true, Fault: PostgresDownThenKill},
		{Name: "role cannot write, SIGTERM, restart", Fault: RoleCannotWrite},
		{Name: "role cannot write, SIGTERM, restart (journal)", Journal: true, Fault: RoleCannotWrite},
		{Name: "kill -9 mid-run", Fault: KillMidRun, InFlight: true},
		{Name: "kill -9 mid-run (journal)", Journal: true, Fault: KillMidRun, InFlight: true},
		{Name: "SIGTERM mid-run, API 200ms", Latency: 200 * time.Millisecond, Fault: StopMidRun},
	}
}

// Bound is how many API-confirmed sends a fault that strikes when no answer
// is on its way may leave not recorded as sent: workers.concurrency (what
// a process may hold unwritten, SPEC §6), none with a journal.
func Bound(opts Options) int {
	if opts.Journal {
		return 0
	}
	return opts.withDefaults().Concurrency
}
