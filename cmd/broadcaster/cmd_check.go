package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/broadcaster/broadcaster/campaign"
	"github.com/broadcaster/broadcaster/db"
	"github.com/broadcaster/broadcaster/internal/config"
	"github.com/broadcaster/broadcaster/sender"
)

// probeConcurrency bounds the cover images fetched at once: enough to finish
// quickly, few enough not to look like a burst to an image host.
const probeConcurrency = 4

// problemsFound is what check returns when it found problems, each printed
// on a line of its own: a plain error, so exit code 1.
type problemsFound int

func (n problemsFound) Error() string {
	return fmt.Sprintf("%d %s found", int(n), plural(int(n), "problem", "problems"))
}

// runCheck validates what can be validated without sending: configuration
// (already loaded by now, so bad values have exited 2), unknown BROADCASTER_*
// variables, the database and its schema version, the api settings, and
// every active, paused or invalid campaign — its template, placeholders,
// schedule and w_id (campaign.Validate) and its recipients
// (db.CheckAudiences). With --network it also fetches the cover images (at
// public addresses only, unless --allow-private) and checks that the API
// base URL answers; it never sends a message.
//
// It prints one line per finding — "problem: SUBJECT: WHAT; fix: HOW",
// "note: …" or "warning: …" — and a final "ok: …" line when there is no
// problem; problems make it exit 1.
func runCheck(ctx context.Context, a *app, args []string) error {
	fs := a.flags("check", "[--network [--allow-private]]")
	network := fs.Bool("network", false,
		"also fetch every campaign's cover image (png or jpeg, at most 50 KB) and check that api.base_url answers; never sends")
	allowPrivate := fs.Bool("allow-private", false,
		"with --network, also fetch cover images at loopback, private, link-local and other non-public addresses, and through HTTP(S)_PROXY")
	if err := a.parse(fs, args); err != nil {
		return err
	}
	r := &checkReport{w: a.stdout}
	for _, name := range config.UnknownEnv(environ(a.lookup)) {
		r.warning("environment", name+" is not a configuration key and is ignored",
			"correct its name: BROADCASTER_ + section + _ + key, as in BROADCASTER_WORKERS_CONCURRENCY")
	}
	for _, err := range unjoin(a.cfg.RequireAPI()) {
		r.problem("config", err.Error(), "")
	}
	done := []string{"configuration"}
	if n, ok := a.checkDatabase(ctx, r, *network, *allowPrivate); ok {
		done = append(done, fmt.Sprintf("database (schema version %d)", db.WantSchemaVersion()),
			fmt.Sprintf("%d %s", n, plural(n, "campaign", "campaigns")))
	}
	if *network && a.cfg.API.BaseURL != "" && a.checkAPI(ctx, r) {
		done = append(done, "api.base_url answers")
	}
	if r.problems > 0 {
		return problemsFound(r.problems)
	}
	fmt.Fprintln(a.stdout, "ok: "+strings.Join(done, ", "))
	return nil
}

// checkDatabase checks that the database answers and holds the schema this
// binary carries, then checks the campaigns. It returns how many campaigns
// were checked, and whether the database could be checked at all.
func (a *app) checkDatabase(ctx context.Context, r *checkReport, network, allowPrivate bool) (int, bool) {
	if err := a.cfg.RequireDatabase(); err != nil {
		r.problem("config", err.Error(), "")
		return 0, false
	}
	pool, err := a.openDB(ctx)
	if err != nil {
		r.problem("database", err.Error(), "check database.url (DATABASE_URL) and that PostgreSQL is up")
		return 0, false
	}
	defer pool.Close()
	if err := db.CheckSchema(ctx, pool); err != nil {
		r.problem("database", err.Error(), schemaFix(err))
		return 0, false
	}
	store := db.NewStore(pool, owner())
	ps, err := store.Partitions(ctx)
	if err != nil {
		r.problem("database", err.Error(), "check that the database role may read broadcaster_partitions (deploy/least-privilege.sql)")
		return 0, false
	}
	for _, w := range db.PartitionWarnings(ps, time.Now()) {
		r.warning("partitions", w.What, w.Fix)
	}
	n, err := a.checkCampaigns(ctx, r, store, network, allowPrivate)
	if err != nil {
		r.problem("database", err.Error(), "check that the database role may read the broadcaster tables")
		return 0, false
	}
	return n, true
}

// checkedCampaign is one campaign's findings, gathered before printing so
// that each campaign's lines stay together.
type checkedCampaign struct {
	db.CheckedCampaign
	invalid  error  // from CampaignRow.Campaign or campaign.Validate
	coverURL string // rendered img_url, "" when invalid
}

// validate judges a campaign's row as the scheduler does when it fires:
// first what the row holds, then whether the campaign can be sent.
func validate(row campaign.CampaignRow) (*campaign.Prepared, error) {
	c, err := row.Campaign()
	if err != nil {
		return nil, err
	}
	return campaign.Validate(c)
}

// checkCampaigns validates every campaign check looks at, reads the
// findings about their audiences and, with network, probes their covers.
func (a *app) checkCampaigns(ctx context.Context, r *checkReport, store *db.Store, network, allowPrivate bool) (int, error) {
	rows, err := store.CheckCampaigns(ctx)
	if err != nil {
		return 0, err
	}
	audiences, err := store.CheckAudiences(ctx)
	if err != nil {
		return 0, err
	}
	byCampaign := map[int64][]db.AudienceFinding{}
	for _, f := range audiences {
		byCampaign[f.CampaignID] = append(byCampaign[f.CampaignID], f)
	}
	today := time.Now().In(a.cfg.Scheduler.Location).Format(time.DateOnly)
	checked := make([]checkedCampaign, len(rows))
	var covers []string
	for i, c := range rows {
		checked[i].CheckedCampaign = c
		p, err := validate(c.CampaignRow)
		if err != nil {
			checked[i].invalid = err
			continue
		}
		// A sample delivery, for covers that use placeholders.
		checked[i].coverURL, _ = p.Render(campaign.Values{WcID: "wxid_check", CampaignID: c.ID, Date: today})
		covers = append(covers, checked[i].coverURL)
	}
	var images map[string]sender.ImageResult
	if network && len(covers) > 0 {
		images = sender.ProbeImages(ctx, sender.NewImageProbeClient(a.cfg.API.Timeout, allowPrivate), covers, probeConcurrency)
	}
	for _, c := range checked {
		subject := fmt.Sprintf("campaign %d %s", c.ID, campaign.Quote(c.Name))
		if c.invalid != nil {
			what, fix := invalidProblem(c.CheckedCampaign, c.invalid)
			r.problem(subject, what, fix)
		} else if c.Status == campaign.StatusInvalid {
			r.problem(subject, "marked invalid ("+c.Error+") but now valid",
				fmt.Sprintf("UPDATE campaigns SET status = 'active' WHERE id = %d, or 'cancelled' to drop it", c.ID))
		}
		for _, f := range byCampaign[c.ID] {
			if f.Problem {
				r.problem(subject, f.Message, f.Fix)
			} else {
				r.note(subject, f.Message)
			}
		}
		if res, ok := images[c.coverURL]; ok {
			problems := res.Info.Problems()
			if res.Err != nil {
				problems = []error{res.Err} // nothing fetched to judge
			}
			for _, p := range problems {
				r.problem(subject, "img_url "+c.coverURL+": "+p.Error(),
					fmt.Sprintf("serve a png or jpeg of at most %d KB there, or point applet_templates.img_url of template %d %q at one",
						sender.MaxImageBytes>>10, c.Template.ID, c.Template.Name))
			}
		}
	}
	return len(rows), nil
}

// invalidProblem splits why a campaign cannot be sent into what is wrong
// and the fix, as the campaign.InvalidError carries them; a campaign
// already marked invalid also needs setting active again once fixed.
func invalidProblem(c db.CheckedCampaign, err error) (what, fix string) {
	what = err.Error()
	var ie *campaign.InvalidError
	if errors.As(err, &ie) {
		what, fix = ie.Problem, ie.Fix
	}
	if c.Status == campaign.StatusInvalid {
		if fix != "" {
			fix += ", then "
		}
		fix += fmt.Sprintf("UPDATE campaigns SET status = 'active' WHERE id = %d", c.ID)
	}
	return what, fix
}

// checkAPI checks that the API base URL answers HTTP at all.
func (a *app) checkAPI(ctx context.Context, r *checkReport) bool {
	_, err := sender.ProbeAPI(ctx, sender.NewProbeClient(a.cfg.API.Timeout), a.cfg.API.BaseURL)
	if err != nil {
		r.problem("api", fmt.Sprintf("nothing answers at %s: %v", config.RedactURL(a.cfg.API.BaseURL), err),
			"check api.base_url (BROADCASTER_API_BASE_URL) and that the API is up and reachable from here")
		return false
	}
	return true
}

// checkReport prints findings, one per line, and counts the problems.
type checkReport struct {
	w        io.Writer
	problems int
}

func (r *checkReport) problem(subject, what, fix string) {
	r.problems++
	r.line("problem", subject, what, fix)
}

func (r *checkReport) note(subject, what string) { r.line("note", subject, what, "") }

func (r *checkReport) warning(subject, what, fix string) { r.line("warning", subject, what, fix) }

// line prints "KIND: SUBJECT: WHAT; fix: FIX" on one line whatever the
// values hold.
func (r *checkReport) line(kind, subject, what, fix string) {
	s := kind + ": " + subject + ": " + what
	if fix != "" {
		s += "; fix: " + fix
	}
	fmt.Fprintln(r.w, strings.NewReplacer("\r\n", `\n`, "\n", `\n`, "\r", `\r`).Replace(s))
}

// environ returns the process environment as the app sees it: names from
// os.Environ whose value a.lookup confirms, so a caller that runs commands
// with its own lookup does not see the developer's variables.
func environ(lookup func(string) (string, bool)) []string {
	var out []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if v, ok := lookup(name); ok {
			out = append(out, name+"="+v)
		}
	}
	return out
}

// unjoin splits an errors.Join result into its errors.
func unjoin(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
