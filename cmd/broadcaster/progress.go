package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/sourcegraph/conc"

	"github.com/broadcaster/broadcaster/campaign"
)

// progress shows a run's progress while it sends: a bar redrawn in place on
// a terminal, plain lines every few seconds otherwise (logs, CI).
type progress struct {
	w        io.Writer
	terminal bool
	every    time.Duration
}

func newProgress(w io.Writer, terminal bool) *progress {
	p := &progress{w: w, terminal: terminal, every: 2 * time.Second}
	if terminal {
		p.every = 150 * time.Millisecond
	}
	return p
}

// follow runs work and, until it returns, prints what summary reports.
func (p *progress) follow(ctx context.Context, summary func(context.Context) (campaign.RunSummary, error),
	work func(context.Context) error) error {
	done := make(chan struct{})
	var wg conc.WaitGroup
	wg.Go(func() {
		start := time.Now()
		tick := time.NewTicker(p.every)
		defer tick.Stop()
		for {
			select {
			case <-done:
				if s, err := summary(context.WithoutCancel(ctx)); err == nil {
					p.print(s, time.Since(start), true)
				}
				return
			case <-tick.C:
				if s, err := summary(ctx); err == nil {
					p.print(s, time.Since(start), false)
				}
			}
		}
	})
	err := work(ctx)
	close(done)
	wg.Wait()
	return err
}

func (p *progress) print(s campaign.RunSummary, elapsed time.Duration, final bool) {
	rate := float64(s.Sent+s.Failed+s.Unknown) / max(elapsed.Seconds(), 0.001)
	counts := fmt.Sprintf("%d/%d done · sent %d · failed %d · unknown %d · pending %d · skipped %d · %.0f/s",
		s.Done(), s.Total, s.Sent, s.Failed, s.Unknown, s.Pending, s.Skipped, rate)
	if !p.terminal {
		fmt.Fprintln(p.w, "  progress:", counts)
		return
	}
	const width = 30
	filled := 0
	if s.Total > 0 {
		filled = width * s.Done() / s.Total
	}
	fmt.Fprintf(p.w, "\r\033[K  [%s%s] %s", strings.Repeat("█", filled), strings.Repeat("░", width-filled), counts)
	if final {
		fmt.Fprintln(p.w)
	}
}
