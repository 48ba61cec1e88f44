package main

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/broadcaster/broadcaster/campaign"
	"github.com/broadcaster/broadcaster/db"
	"github.com/broadcaster/broadcaster/internal/config"
	"github.com/broadcaster/broadcaster/internal/logging"
	"github.com/broadcaster/broadcaster/internal/pgtemp"
	"github.com/broadcaster/broadcaster/sender"
	"github.com/broadcaster/broadcaster/sender/sendertest"
)

// seedAppMsg is the provider's example applet (testdata/provider/seed-appmsg.xml,
// verbatim), so the demo sends what a real operator would paste.
//
//go:embed seed-appmsg.xml
var seedAppMsg string

// seedImgURL is the cover image of the provider's example request.
const seedImgURL = "http://photocdn.sohu.com/20120323/Img338614056.jpg"

// demoToken is the token the demo's simulated API expects.
const demoToken = "demo-token"

func runDemo(ctx context.Context, a *app, args []string) error {
	fs := a.flags("demo", "[--recipients N] [--fail-rate R] [--console [--listen ADDR]]")
	people := fs.Int("recipients", 300, "how many people to send to (a sixth as many @chatroom groups are added)")
	failRate := fs.Float64("fail-rate", 0.15, "share of answers the simulated API gives code 1001 (`0..1`), to show retries")
	withConsole := fs.Bool("console", false, "then keep the database, the simulated API and a daemon running with the operator console open, until Ctrl-C")
	listen := fs.String("listen", "127.0.0.1:0", "with --console, the console's `address` (port 0: any free port)")
	if err := a.parse(fs, args); err != nil {
		return err
	}
	if *people < 1 || *people > 100000 || *failRate < 0 || *failRate >= 1 {
		return fmt.Errorf("%w: --recipients must be 1..100000 and --fail-rate in [0, 1)", errUsage)
	}
	d := demo{app: a, out: a.stdout, started: time.Now(), log: a.log}
	if *withConsole {
		d.console = *listen
	}
	if a.cfg.Log.Level == config.Default().Log.Level { // keep the showcase's output for the showcase
		d.log = a.log.Level(zerolog.WarnLevel)
	}
	return d.run(ctx, *people, *failRate)
}

type demo struct {
	*app
	out     interface{ Write([]byte) (int, error) }
	started time.Time
	log     zerolog.Logger
	console string // with --console, the address to serve it on; "" without
}

func (d demo) step(format string, args ...any) {
	fmt.Fprintf(d.out, "▸ "+format+"\n", args...)
}

func (d demo) run(ctx context.Context, people int, failRate float64) error {
	dbURL, stopDB, err := d.database(ctx)
	if err != nil {
		return err
	}
	defer stopDB()
	api, err := sendertest.Start(sendertest.Config{
		Token: demoToken, Latency: 20 * time.Millisecond, LatencyJitter: 60 * time.Millisecond,
		FailRate: failRate, Seed: uint64(time.Now().UnixNano()),
	})
	if err != nil {
		return err
	}
	defer api.Close()
	d.step("simulated sendApplet API at %s: %.0f%% of answers are code 1001, retried with backoff", api.URL(), failRate*100)

	pool, err := db.Open(ctx, dbURL, 24)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := db.Migrate(ctx, pool); err != nil {
		return err
	}
	d.step("migrated: every migration applied, as `broadcaster migrate` does")
	store := db.NewStore(pool, owner())
	id, audience, err := d.seed(ctx, store, people)
	if err != nil {
		return err
	}
	runs, err := campaign.NewScheduler(store, campaign.SystemClock{}, d.log).CreateDueRuns(ctx)
	if err != nil {
		return err
	}
	if len(runs) != 1 {
		return fmt.Errorf("demo campaign %d did not start (is it invalid? see campaigns.error)", id)
	}
	run := runs[0]
	d.step("run %d created: %d deliveries, %d skipped (suppressed or malformed wcIds)", run.ID, run.Total, run.Skipped)

	if err := d.send(ctx, store, api.URL(), run.ID); err != nil {
		return err
	}
	if ctx.Err() != nil {
		d.step("interrupted: cleaning up")
		return nil
	}
	if err := d.report(ctx, store, id, run.ID, api, audience); err != nil || d.console == "" {
		return err
	}
	return d.serveConsole(ctx, store, dbURL, api, id)
}

// database returns the database to use and how to remove it: a database of
// the demo's own on DATABASE_URL's server, or a throwaway server. The demo
// never writes to the database DATABASE_URL names (SPEC §7): it would create
// due runs for every campaign there and send to real recipients.
func (d demo) database(ctx context.Context) (string, func(), error) {
	if url := d.cfg.Database.URL; url != "" {
		return d.ownDatabase(ctx, url)
	}
	d.step("starting a throwaway PostgreSQL from the installed binaries (removed at exit)…")
	srv, err := pgtemp.Start(ctx, pgtemp.Options{Database: "broadcaster_demo"})
	if errors.Is(err, pgtemp.ErrNoPostgres) {
		return "", nil, err
	}
	if err != nil {
		return "", nil, fmt.Errorf("start a throwaway PostgreSQL: %w", err)
	}
	stop := func() {
		if err := srv.Stop(); err != nil {
			d.log.Warn().Err(err).Msg("could not remove the throwaway PostgreSQL")
		}
	}
	return srv.URL(), stop, nil
}

// ownDatabase creates the demo's database on the server at url, and returns
// its URL and a function that drops it. A role that may not create one is a
// configuration error (exit 2): the demo refuses rather than fall back to
// url's database.
func (d demo) ownDatabase(ctx context.Context, url string) (string, func(), error) {
	own, err := db.CreateDemoDatabase(ctx, url)
	if errors.Is(err, db.ErrCreateDatabaseDenied) {
		return "", nil, &config.Error{Key: "database.url", Err: err, Msg: "demo never writes to the database " +
			"DATABASE_URL names, and cannot create a database of its own on that server: " + err.Error() +
			"; grant it CREATEDB, or unset DATABASE_URL to use a throwaway PostgreSQL"}
	}
	if err != nil {
		return "", nil, fmt.Errorf("create the demo's database on the server at %s: %w", config.RedactURL(url), err)
	}
	d.step("created database %s on the server at %s for the demo (dropped at exit; DATABASE_URL's own database is not written to)",
		own.Name, config.RedactURL(url))
	drop := func() {
		// The demo's context may be cancelled already (Ctrl-C): the drop
		// gets a context of its own.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if err := own.Drop(ctx); err != nil {
			d.log.Warn().Err(err).Str("database", own.Name).Msg("could not drop the demo's database: drop it by hand")
		}
	}
	return own.URL, drop, nil
}

// seed inserts what an operator would: the seed applet as pasted from a
// callback, a list of people and groups, two suppressions, a campaign. It
// returns the campaign's id and every wcId it names.
func (d demo) seed(ctx context.Context, store *db.Store, people int) (int64, []string, error) {
	suffix := time.Now().Format("20060102-150405.000")
	var members []string
	for i := range people {
		members = append(members, fmt.Sprintf("wxid_demo%04d", i))
	}
	for i := range max(people/6, 1) {
		members = append(members, fmt.Sprintf("%d@chatroom", 20000000000+i))
	}
	seed := db.DemoSeed{
		TemplateName: "demo applet " + suffix,
		ImgURL:       seedImgURL,
		Content:      "<msg>\n" + seedAppMsg + "\n</msg>", // as pasted from a message callback
		ListName:     "demo customers " + suffix,
		Members:      members,
		Suppressed:   []string{"wxid_demo0003", "wxid_demo0007"},
		Inline:       []string{"wxid_demo0000", "jack_623555049", " padded-wcid"},
		WID:          "0000016f-78bd-21c8-0001-29c4d004ae46",
		CampaignName: "demo " + suffix,
	}
	id, err := store.SeedDemo(ctx, seed)
	if err != nil {
		return 0, nil, err
	}
	d.step("campaign %d inserted: the seed applet to a list of %d people and %d groups", id, people, len(members)-people)
	return id, append(seed.Members, seed.Inline...), nil
}

// send drains the run with a live progress display.
func (d demo) send(ctx context.Context, store *db.Store, apiURL string, runID int64) error {
	snd, err := sender.New(sender.Options{BaseURL: apiURL, Token: demoToken, Timeout: 5 * time.Second, MaxConns: campaign.DefaultConcurrency})
	if err != nil {
		return err
	}
	defer snd.CloseIdleConnections()
	retry := campaign.DefaultRetryPolicy() // with a showcase's patience
	retry.Backoff, retry.MaxBackoff = 200*time.Millisecond, 2*time.Second
	disp := campaign.NewDispatcher(store, snd, campaign.DispatchConfig{
		Concurrency: campaign.DefaultConcurrency,
		Retry:       retry,
		Lease:       15 * time.Second,
		Location:    d.cfg.Scheduler.Location,
	}, d.log)
	p := newProgress(d.out, logging.IsTerminal(d.out))
	return p.follow(ctx, func(ctx context.Context) (campaign.RunSummary, error) {
		runs, err := store.RunSummaries(ctx, []int64{runID})
		if err != nil || len(runs) == 0 {
			return campaign.RunSummary{}, fmt.Errorf("summary of run %d: %w", runID, errors.Join(err, campaign.ErrNotFound))
		}
		return runs[0].RunSummary, nil
	}, disp.Drain)
}

// report prints the run's summary and a sample of its deliveries, and the SQL
// behind them so operators can run it themselves.
func (d demo) report(ctx context.Context, store *db.Store, campaignID, runID int64, api *sendertest.Server, audience []string) error {
	runs, err := store.ReportRuns(ctx, &campaignID, nil)
	if err != nil {
		return err
	}
	deliveries, err := store.ReportDeliveries(ctx, runID)
	if err != nil {
		return err
	}
	if len(deliveries.Rows) > 8 {
		deliveries.Rows = deliveries.Rows[:8]
	}
	r := reporter{w: d.out, loc: d.cfg.Scheduler.Location}
	fmt.Fprintln(d.out, "\nReport (broadcaster report --campaign", campaignID, "):")
	if err := r.table(runs); err != nil {
		return err
	}
	fmt.Fprintln(d.out, "\nFirst deliveries (broadcaster report --run", runID, "lists them all):")
	if err := r.table(deliveries); err != nil {
		return err
	}
	fmt.Fprintf(d.out, "\nThe SQL behind the report ($1 = %d, $2 = NULL):\n%s\n", campaignID, indent(db.ReportRunsSQL()))
	reached, err := ownRecipients(api.Requests(), audience)
	if err != nil {
		return err
	}
	st := api.Stats()
	fmt.Fprintf(d.out, "The simulated API saw %d requests, for %d recipients, all the demo's own: %d sent, %d answered 1001; at most %d in flight.\n",
		st.Requests, reached, st.Sent, st.Failed, st.MaxInFlight)
	d.step("done in %s", time.Since(d.started).Round(100*time.Millisecond))
	if d.console == "" {
		d.step("to watch a broadcast in the operator console: make console (broadcaster demo --console)")
	}
	return nil
}

// errForeignRecipient says the simulated API was asked to message someone
// the demo did not insert: the demo must only ever reach its own audience.
var errForeignRecipient = errors.New("the simulated API was asked to message recipients the demo did not create")

// ownRecipients checks that every request the simulated API saw was for one
// of the demo's own recipients, and returns how many of them it reached:
// the proof, for an operator trying the demo next to real data, that no
// real recipient was messaged.
func ownRecipients(requests []sendertest.Request, audience []string) (int, error) {
	ours := make(map[string]bool, len(audience))
	for _, wcID := range audience {
		ours[wcID] = true
	}
	reached, foreign := map[string]bool{}, map[string]bool{}
	for _, r := range requests {
		if ours[r.WcID] {
			reached[r.WcID] = true
		} else {
			foreign[r.WcID] = true
		}
	}
	if len(foreign) > 0 {
		return 0, fmt.Errorf("%w: %d of them", errForeignRecipient, len(foreign))
	}
	return len(reached), nil
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n    ")
}
