package bench

import (
	"context"
	"fmt"
	"strconv"

	"github.com/broadcaster/broadcaster/internal/child"
	"github.com/broadcaster/broadcaster/sender/sendertest"
)

// riverLoop runs River (bench/river, Options.River) in a process of its
// own against the world's database and fake API: n jobs, one per
// recipient, worked by workers goroutines that each POST the request body
// broadcaster sends. It is measured like a broadcaster run, database
// included: River keeps its queue in PostgreSQL as broadcaster keeps its
// deliveries, though without their audit (no attempt rows, no receipts).
// River's tables are created first, and what an earlier run in the world
// left for vacuum is vacuumed, both outside the measurement.
func (w *world) riverLoop(ctx context.Context, n, workers int) (sample, error) {
	migrate, err := child.Start(child.Spec{Binary: w.rig.opts.River, Args: []string{"migrate", w.dbURL}, Dir: w.rig.dir, Logs: w.rig.opts.Logs})
	if err != nil {
		return sample{}, err
	}
	if err := migrate.Succeed(ctx); err != nil {
		return sample{}, fmt.Errorf("migrate: %w", err)
	}
	if err := w.exec(ctx, `VACUUM (ANALYZE)`); err != nil {
		return sample{}, fmt.Errorf("vacuum: %w", err)
	}
	bodyFile, err := w.bodyFile("river", "wxid_river")
	if err != nil {
		return sample{}, err
	}
	return w.measure(ctx, n, false, func(ctx context.Context) ([]*child.Process, error) {
		args := []string{w.dbURL, w.api.URL() + sendertest.Path, token, bodyFile, strconv.Itoa(n), strconv.Itoa(workers)}
		p, err := child.Start(child.Spec{Binary: w.rig.opts.River, Args: args, Dir: w.rig.dir, Logs: w.rig.opts.Logs})
		if err != nil {
			return nil, err
		}
		return []*child.Process{p}, nil
	})
}
