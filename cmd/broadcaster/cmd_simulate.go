package main

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/broadcaster/broadcaster/internal/config"
	"github.com/broadcaster/broadcaster/sender/sendertest"
)

func runSimulate(ctx context.Context, a *app, args []string) error {
	fs := a.flags("simulate", "--listen ADDR [options]")
	listen := fs.String("listen", "127.0.0.1:8080", "`address` to serve the stand-in API on")
	var cfg sendertest.Config
	fs.StringVar(&cfg.Token, "token", "", "Authorization `token` to require (default: api.token from the configuration; empty accepts any)")
	cfg.Latency, cfg.LatencyJitter = 50*time.Millisecond, 50*time.Millisecond
	fs.Var(config.DurationFlag{D: &cfg.Latency}, "latency", "fixed `delay` before every answer")
	fs.Var(config.DurationFlag{D: &cfg.LatencyJitter}, "latency-jitter", "random extra `delay` up to this much")
	fs.Float64Var(&cfg.FailRate, "fail-rate", 0.05, "share of requests answered with code 1001 (`0..1`)")
	fs.Float64Var(&cfg.ErrorRate, "error-rate", 0, "share of requests answered with an HTTP 502 page (`0..1`)")
	fs.IntVar(&cfg.FailFirst, "fail-first", 0, "answer 1001 to the first `N` requests for each wcId")
	fs.Uint64Var(&cfg.Seed, "seed", 0, "random `seed` (default: from the clock)")
	if err := a.parse(fs, args); err != nil {
		return err
	}
	if cfg.FailRate < 0 || cfg.FailRate > 1 || cfg.ErrorRate < 0 || cfg.ErrorRate > 1 {
		return fmt.Errorf("%w: --fail-rate and --error-rate must be between 0 and 1", errUsage)
	}
	if cfg.Token == "" {
		cfg.Token = a.cfg.API.Token
	}
	if cfg.Seed == 0 {
		cfg.Seed = uint64(time.Now().UnixNano())
	}
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", *listen)
	if err != nil {
		return fmt.Errorf("simulate: %w", err)
	}
	srv := sendertest.New(cfg)
	fmt.Fprintf(a.stdout, "simulated sendApplet API on http://%s/sendApplet (latency %v+%v, 1001 rate %.0f%%, 502 rate %.0f%%); Ctrl-C stops it\n",
		l.Addr(), cfg.Latency, cfg.LatencyJitter, cfg.FailRate*100, cfg.ErrorRate*100)
	err = srv.Serve(ctx, l)
	st := srv.Stats()
	fmt.Fprintf(a.stdout, "requests %d: sent %d, failed %d, HTTP errors %d, rejected %d, unanswered %d; at most %d in flight\n",
		st.Requests, st.Sent, st.Failed, st.HTTPErrors, st.Rejected, st.Unanswered, st.MaxInFlight)
	return err
}
