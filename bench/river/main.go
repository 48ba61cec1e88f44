// Command river-bench is the peer of broadcaster in make bench's throughput
// scenario: River (github.com/riverqueue/river), the Postgres job queue an
// engineer would reach for, sending the same POSTs to the same fake API as
// one job per recipient. It lives in a module of its own so that the
// product's go.mod never names River.
//
//	river-bench migrate DATABASE_URL
//	river-bench DATABASE_URL API_URL TOKEN BODYFILE N WORKERS
//
// The first form creates River's tables, before the measurement (as
// `broadcaster migrate` creates broadcaster's). The second inserts N jobs,
// works them with WORKERS workers (each job POSTs the body, reads the
// answer to the end and checks its status, as the bare loop does), and
// exits 0 once all N are completed, 1 if one fails. River keeps its queue
// in PostgreSQL as broadcaster keeps its deliveries: the harness measures
// both the same way.
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "river-bench:", err)
		os.Exit(1)
	}
}

// sendArgs is one recipient's job.
type sendArgs struct {
	WcID string `json:"wc_id"`
}

// Kind names the job kind in river_job.
func (sendArgs) Kind() string { return "send_applet" }

// sendWorker POSTs the body for each job, as the bare loop does.
type sendWorker struct {
	river.WorkerDefaults[sendArgs]
	client     *http.Client
	url, token string
	body       []byte
}

// Work sends one request and reads its answer; any error fails the job.
func (w *sendWorker) Work(ctx context.Context, _ *river.Job[sendArgs]) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(w.body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", w.token)
	resp, err := w.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return nil
}

func run(ctx context.Context, args []string) error {
	if len(args) == 2 && args[0] == "migrate" {
		return migrate(ctx, args[1])
	}
	if len(args) != 6 {
		return errors.New("usage: river-bench migrate DATABASE_URL | river-bench DATABASE_URL API_URL TOKEN BODYFILE N WORKERS")
	}
	body, err := os.ReadFile(args[3])
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(args[4])
	if err != nil || n < 1 {
		return fmt.Errorf("N: %q is not a positive number", args[4])
	}
	workers, err := strconv.Atoi(args[5])
	if err != nil || workers < 1 {
		return fmt.Errorf("WORKERS: %q is not a positive number", args[5])
	}
	cfg, err := pgxpool.ParseConfig(args[0])
	if err != nil {
		return err
	}
	cfg.MaxConns = int32(workers) + 4
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	return send(ctx, pool, &sendWorker{
		client: &http.Client{Transport: &http.Transport{
			MaxIdleConns: workers, MaxIdleConnsPerHost: workers, MaxConnsPerHost: workers,
		}, Timeout: 30 * time.Second},
		url: args[1], token: args[2], body: body,
	}, n, workers)
}

// migrate creates or upgrades River's tables in the database at url.
func migrate(ctx context.Context, url string) error {
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return err
	}
	defer pool.Close()
	migrator, err := rivermigrate.New(riverpgxv5.New(pool), nil)
	if err != nil {
		return err
	}
	if _, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// send inserts n jobs and works them with w on a River client of workers
// workers, until every one is completed or one fails.
func send(ctx context.Context, pool *pgxpool.Pool, w *sendWorker, n, workers int) error {
	ws := river.NewWorkers()
	river.AddWorker(ws, w)
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{
		Queues: map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: workers}},
		// Tuned as in issue 11's comparison: a worker that frees up fetches
		// again within a millisecond, not River's default 100 ms.
		FetchCooldown:     time.Millisecond,
		FetchPollInterval: 50 * time.Millisecond,
		Workers:           ws,
		// River's warnings (a dropped event, a failed fetch) explain a run
		// that does not finish.
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		return err
	}
	// Room for every job's event: River drops events a full channel cannot
	// take (its completer reports thousands at once), and a dropped one
	// would leave this waiting for ever.
	events, cancel := client.SubscribeConfig(&river.SubscribeConfig{
		ChanSize: n,
		Kinds:    []river.EventKind{river.EventKindJobCompleted, river.EventKindJobFailed},
	})
	defer cancel()

	jobs := make([]river.InsertManyParams, n)
	for i := range jobs {
		jobs[i] = river.InsertManyParams{Args: sendArgs{WcID: "wxid_" + strconv.Itoa(i)}}
	}
	if _, err := client.InsertManyFast(ctx, jobs); err != nil {
		return fmt.Errorf("insert jobs: %w", err)
	}
	if err := client.Start(ctx); err != nil {
		return err
	}
	defer client.Stop(context.WithoutCancel(ctx))
	for done := 0; done < n; {
		select {
		case <-ctx.Done():
			return fmt.Errorf("stopped after %d of %d jobs: %w", done, n, ctx.Err())
		case e, ok := <-events:
			if !ok {
				return fmt.Errorf("River stopped after %d of %d jobs", done, n)
			}
			if e.Kind == river.EventKindJobFailed {
				return fmt.Errorf("job %d failed: %v", e.Job.ID, e.Job.Errors)
			}
			done++
		}
	}
	return nil
}
