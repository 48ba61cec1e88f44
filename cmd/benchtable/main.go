// Command benchtable measures broadcaster against the performance targets
// of issue 11 and prints one Markdown table — scenario, figure, target,
// holds — with the bare HTTP loop measured in the same run against the
// same fake API: `make bench`. See internal/bench for what each figure is
// and how it is taken.
//
// Sizes default to the (five to ten minutes on two cores) and are set
// by the environment:
//
//	BENCH_SCALE        multiplies every scenario's size (default 1; 0.1 for a quick check)
//	BENCH_RUN          runs only the scenarios whose name matches this regexp
//	                   (throughput, slowstart, fanout, fairness, latency, instances)
//	BENCH_PG_SETTINGS  extra PostgreSQL settings, e.g. fsync=on,synchronous_commit=on
//	BENCH_VERBOSE      set to 1 to copy broadcaster's logs to stderr
//
// It exits 0 once every scenario was measured, whether its targets hold or
// not (the table says), 1 when a scenario could not be measured, 2 on a
// usage error. With -river, the throughput scenario measures River
// (bench/river, built by `make bench`) beside broadcaster.
// `benchtable bareloop URL TOKEN BODYFILE N WORKERS` is the
// bare loop itself, which the harness runs as a process of its own so that
// its CPU is measured apart from the fake API's.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"

	"github.com/broadcaster/broadcaster/internal/bench"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "bareloop" {
		return bareLoop(ctx, args[1:], stderr)
	}
	fs := flag.NewFlagSet("benchtable", flag.ContinueOnError)
	fs.SetOutput(stderr)
	binary := fs.String("binary", "bin/broadcaster", "the broadcaster `binary` to measure")
	appMsg := fs.String("appmsg", "testdata/provider/seed-appmsg.xml", "the applet XML `file` every scenario sends")
	river := fs.String("river", "", "the bench/river `binary`, measured beside broadcaster in the throughput scenario (left out when empty)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	opts, err := options(*binary, *appMsg, *river, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "benchtable: %v\n", err)
		return 2
	}
	fmt.Fprintf(stderr, "benchtable: scale %g; scenarios %s\n", opts.Scale, strings.Join(bench.Names(), ", "))
	rows, failed, err := bench.Run(ctx, opts)
	if werr := bench.WriteTable(stdout, rows); werr != nil && err == nil {
		err = werr
	}
	if err != nil {
		fmt.Fprintf(stderr, "benchtable: %v\n", err)
		return 1
	}
	if failed > 0 {
		fmt.Fprintf(stderr, "benchtable: %d scenarios could not be measured\n", failed)
		return 1
	}
	return 0
}

// options reads the flags' files and the BENCH_* environment.
func options(binary, appMsgFile, river string, stderr io.Writer) (bench.Options, error) {
	var opts bench.Options
	var err error
	if opts.Binary, err = filepath.Abs(binary); err != nil {
		return opts, err
	}
	if _, err := os.Stat(opts.Binary); err != nil {
		return opts, fmt.Errorf("%w (build it with `make build`)", err)
	}
	if river != "" {
		if opts.River, err = filepath.Abs(river); err != nil {
			return opts, err
		}
		if _, err := os.Stat(opts.River); err != nil {
			return opts, fmt.Errorf("%w (build it with `make bench`)", err)
		}
	}
	if opts.Self, err = os.Executable(); err != nil {
		return opts, err
	}
	content, err := os.ReadFile(appMsgFile)
	if err != nil {
		return opts, err
	}
	opts.AppMsg = strings.TrimRight(string(content), "\n")
	if opts.Scale, err = bench.ParseScale(os.Getenv("BENCH_SCALE")); err != nil {
		return opts, fmt.Errorf("BENCH_SCALE: %w", err)
	}
	if only := os.Getenv("BENCH_RUN"); only != "" {
		if opts.Only, err = regexp.Compile(only); err != nil {
			return opts, fmt.Errorf("BENCH_RUN: %w", err)
		}
	}
	if opts.PGSettings, err = bench.ParseSettings(os.Getenv("BENCH_PG_SETTINGS")); err != nil {
		return opts, fmt.Errorf("BENCH_PG_SETTINGS: %w", err)
	}
	if os.Getenv("BENCH_VERBOSE") == "1" {
		opts.Logs = stderr
	}
	opts.Progress = stderr
	return opts, nil
}

// bareLoop is the subcommand the harness runs as the bare loop's process.
func bareLoop(ctx context.Context, args []string, stderr io.Writer) int {
	if len(args) != 5 {
		fmt.Fprintln(stderr, "usage: benchtable bareloop URL TOKEN BODYFILE N WORKERS")
		return 2
	}
	body, err := os.ReadFile(args[2])
	n, nerr := strconv.Atoi(args[3])
	workers, werr := strconv.Atoi(args[4])
	if err != nil || nerr != nil || werr != nil || n <= 0 || workers <= 0 {
		fmt.Fprintf(stderr, "bareloop: bad arguments %q: %v\n", args, err)
		return 2
	}
	if err := bench.BareLoop(ctx, args[0], args[1], body, n, workers); err != nil {
		fmt.Fprintf(stderr, "bareloop: %v\n", err)
		return 1
	}
	return 0
}
