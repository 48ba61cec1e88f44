package chaos

import (
	"context"

	"github.com/broadcaster/broadcaster/internal/child"
)

// Start starts broadcaster with args and the rig's environment (nothing of
// this process's own but PATH and HOME).
func (r *Rig) Start(args ...string) (*child.Process, error) {
	p, err := child.Start(child.Spec{Binary: r.Opts.Binary, Args: args, Dir: r.dir, Env: r.environ(), Logs: r.Opts.Logs})
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.ps = append(r.ps, p)
	r.mu.Unlock()
	return p, nil
}

// Run runs broadcaster with args to the end and returns its exit code.
func (r *Rig) Run(ctx context.Context, args ...string) (int, error) {
	p, err := r.Start(args...)
	if err != nil {
		return -1, err
	}
	return p.Wait(ctx)
}
