package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/broadcaster/broadcaster/campaign"
	"github.com/broadcaster/broadcaster/db"
	"github.com/broadcaster/broadcaster/internal/config"
)

func runPrune(ctx context.Context, a *app, args []string) error {
	fs := a.flags("prune", "--older-than DUR [--archive DIR] [--dry-run]")
	var olderThan time.Duration
	fs.Var(config.DurationFlag{D: &olderThan}, "older-than", "drop partitions whose runs are all older than this `duration` (e.g. 90d, 1d12h; at least 1d)")
	dir := fs.String("archive", a.cfg.Retention.ArchiveDir, "write each partition as gzip CSV and a manifest into this `directory` before dropping it (default retention.archive_dir)")
	dryRun := fs.Bool("dry-run", false, "show what would be dropped and kept, and change nothing")
	if err := a.parse(fs, args); err != nil {
		return err
	}
	switch {
	case olderThan == 0:
		return fmt.Errorf("%w: --older-than is required (e.g. --older-than 90d)", errUsage)
	case olderThan < campaign.MinRetention:
		return fmt.Errorf("%w: --older-than must be at least %s, got %s", errUsage,
			config.FormatDuration(campaign.MinRetention), config.FormatDuration(olderThan))
	}
	archiveDir := *dir
	if archiveDir != "" {
		abs, err := filepath.Abs(archiveDir)
		if err != nil {
			return fmt.Errorf("%w: --archive: %v", errUsage, err)
		}
		archiveDir = abs
	}
	pool, err := a.openCheckedDB(ctx)
	if err != nil {
		return err
	}
	defer pool.Close()
	m := campaign.NewMaintenance(db.NewRetention(pool, version()), campaign.SystemClock{}, a.log, campaign.MaintenanceConfig{})
	results, err := m.Prune(ctx, campaign.PruneRequest{OlderThan: olderThan, ArchiveDir: archiveDir, DryRun: *dryRun})
	printPrune(a.stdout, results, *dryRun)
	return err
}

// printPrune writes one line per partition: its range, its size, its open
// runs, what became of it and why; then where the archives went.
func printPrune(w io.Writer, results []campaign.PruneResult, dryRun bool) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PARTITION\tFROM\tTO\tROWS\tOPEN RUNS\tACTION\tWHY")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", r.Deliveries, bound(r.From, "-infinity"), bound(r.To, "+infinity"),
			rowCount(r.Rows), r.OpenRuns, pruneAction(r, dryRun), r.Reason)
	}
	if len(results) == 0 {
		fmt.Fprintln(tw, "(no partitions)")
	}
	_ = tw.Flush()
	for _, r := range results {
		if r.Archive.Dir != "" {
			fmt.Fprintf(w, "archived %s: %d deliveries, %d attempts in %s\n", r.Deliveries, r.Archive.Deliveries, r.Archive.Attempts, r.Archive.Dir)
		}
	}
	if dryRun {
		fmt.Fprintln(w, "dry run: nothing was changed")
	}
}

// pruneAction names what happened to a partition, or would in a dry run.
func pruneAction(r campaign.PruneResult, dryRun bool) string {
	switch {
	case r.Gone:
		return "gone"
	case r.Dropped:
		return "dropped"
	case r.Drop && dryRun:
		return "would drop"
	default:
		return "keep"
	}
}

// bound writes a range bound as a UTC date when it is midnight (months are),
// in full otherwise, and unbounded ones as none.
func bound(t time.Time, none string) string {
	switch {
	case t.IsZero():
		return none
	case t.UTC().Truncate(24 * time.Hour).Equal(t):
		return t.UTC().Format(time.DateOnly)
	default:
		return t.UTC().Format(time.RFC3339)
	}
}

// rowCount writes the estimate, or "?" when there is none.
func rowCount(n int64) string {
	if n < 0 {
		return "?"
	}
	return strconv.FormatInt(n, 10)
}

// version names this build for archive manifests: the module version, and
// the VCS revision when the build recorded one.
func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := info.Main.Version
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" {
			v += " " + s.Value
		}
	}
	return v
}
