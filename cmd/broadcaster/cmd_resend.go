package main

import (
	"context"
	"errors"
	"fmt"
	"os/user"
	"slices"
	"strings"
	"time"

	"github.com/broadcaster/broadcaster/campaign"
)

func runResend(ctx context.Context, a *app, args []string) error {
	fs := a.flags("resend", "--run N --status failed,unknown [--dry-run]")
	runID := fs.Int64("run", 0, "the run `N` whose failures to re-send (required)")
	statusList := fs.String("status", "", "the delivery `statuses` to re-send, comma-separated: failed, unknown or both (required)")
	dryRun := fs.Bool("dry-run", false, "say what would be re-sent, and change nothing")
	if err := a.parse(fs, args); err != nil {
		return err
	}
	if *runID <= 0 {
		return fmt.Errorf("%w: --run N is required: the id of a completed run (see broadcaster report)", errUsage)
	}
	statuses, err := parseResendStatuses(*statusList)
	if err != nil {
		return err
	}
	store, closeDB, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer closeDB()
	res, err := store.Resend(ctx, campaign.ResendRequest{
		RunID: *runID, Statuses: statuses, DryRun: *dryRun, Actor: a.cliActor(), Now: time.Now(),
	})
	var refusal *campaign.RefusedError
	if errors.As(err, &refusal) {
		return errors.New(refusal.Reason)
	}
	if err != nil {
		return err
	}
	a.printResend(*runID, res, *dryRun)
	return nil
}

// parseResendStatuses reads --status: failed and/or unknown, nothing else.
func parseResendStatuses(list string) ([]campaign.DeliveryStatus, error) {
	var out []campaign.DeliveryStatus
	for _, s := range strings.Split(list, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		st := campaign.DeliveryStatus(s)
		if !slices.Contains(campaign.ResendStatuses(), st) {
			return nil, fmt.Errorf("%w: --status takes failed, unknown or failed,unknown, not %q", errUsage, s)
		}
		out = append(out, st)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: --status is required: failed, unknown or failed,unknown", errUsage)
	}
	return out, nil
}

// cliActor is the operator behind a command, for audit_log: $USER, or the
// operating system's name for the process's user.
func (a *app) cliActor() campaign.Actor {
	name, _ := a.lookup("USER")
	if name == "" {
		if u, err := user.Current(); err == nil {
			name = u.Username
		}
	}
	return campaign.Actor{Name: name, Credential: "cli"}
}

func (a *app) printResend(runID int64, res campaign.ResendResult, dryRun bool) {
	w := a.stdout
	verb := "re-sends"
	if dryRun {
		verb = "would re-send"
	}
	fmt.Fprintf(w, "run %d of campaign %d: %s %d recipients", runID, res.CampaignID, verb, res.Recipients)
	if res.Skipped > 0 {
		fmt.Fprintf(w, " (%d more skipped: suppressed or invalid since)", res.Skipped)
	}
	fmt.Fprintln(w)
	if res.Unknown > 0 {
		fmt.Fprintf(w, "warning: %d of them ended unknown: they may already have the message\n", res.Unknown)
	}
	if dryRun {
		fmt.Fprintln(w, "dry run: nothing was created")
		return
	}
	fmt.Fprintf(w, "new run %d: sent by a running daemon or the next `broadcaster run --once`\n", res.NewRunID)
}
