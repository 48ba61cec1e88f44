// Command chaos runs the fault experiments of internal/chaos against a
// broadcaster binary and prints what each did to the campaign's record:
// `make chaos`. It exits 1 when any experiment broke its bound (a recipient
// messaged twice, or more API-confirmed sends lost than
// workers.concurrency, or any with the journal on).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/broadcaster/broadcaster/campaign"
	"github.com/broadcaster/broadcaster/internal/chaos"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("chaos", flag.ContinueOnError)
	fs.SetOutput(stderr)
	binary := fs.String("binary", "bin/broadcaster", "the broadcaster `binary` to torment")
	recipients := fs.Int("recipients", 500, "recipients of the campaign sent in each experiment")
	concurrency := fs.Int("concurrency", campaign.DefaultConcurrency, "workers.concurrency")
	only := fs.String("run", "", "run only the experiments whose name matches this `regexp`")
	verbose := fs.Bool("v", false, "copy broadcaster's logs to stderr")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	match, err := regexp.Compile(*only)
	if err != nil {
		fmt.Fprintf(stderr, "chaos: -run: %v\n", err)
		return 2
	}
	if _, err := os.Stat(*binary); err != nil {
		fmt.Fprintf(stderr, "chaos: %v (build it with `make build`)\n", err)
		return 2
	}

	// A Markdown table, ready for an issue's closing note.
	tw := tabwriter.NewWriter(stdout, 0, 0, 1, ' ', 0)
	fmt.Fprintln(tw, "| experiment\t| recipients\t| API-confirmed\t| recorded sent\t| unknown\t| confirmed, not sent\t| bound\t| duplicates\t| took\t| verdict\t|")
	fmt.Fprintln(tw, "|---\t|---:\t|---:\t|---:\t|---:\t|---:\t|---:\t|---:\t|---:\t|---\t|")
	failed := 0
	for _, e := range chaos.Experiments() {
		if !match.MatchString(e.Name) {
			continue
		}
		opts := chaos.Options{Binary: *binary, Recipients: *recipients, Concurrency: *concurrency,
			Journal: e.Journal, Latency: e.Latency}
		if *verbose {
			opts.Logs = stderr
		}
		fmt.Fprintf(stderr, "chaos: %s…\n", e.Name)
		started := time.Now()
		ectx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		t, err := chaos.Run(ectx, opts, e.Fault)
		cancel()
		bound := e.Bound(opts)
		if err == nil {
			err = t.Check(bound)
		}
		verdict := "ok"
		if err != nil {
			failed++
			verdict = "FAILED"
			fmt.Fprintf(stderr, "chaos: %s: %v\n", e.Name, err)
		}
		fmt.Fprintf(tw, "| %s\t| %d\t| %d\t| %d\t| %d\t| %d\t| %d\t| %d\t| %s\t| %s\t|\n", e.Name, t.Recipients, t.Confirmed, t.Sent,
			t.Unknown, t.Lost, bound, t.Duplicates, time.Since(started).Round(100*time.Millisecond), verdict)
		if ctx.Err() != nil {
			break
		}
	}
	tw.Flush()
	if failed > 0 {
		fmt.Fprintf(stderr, "chaos: %d experiments broke their bound\n", failed)
		return 1
	}
	return 0
}
