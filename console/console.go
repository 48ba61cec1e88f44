// Package console is the operator console (issue 12): server-rendered pages
// and their JSON twins under /api/, served by the daemon on http.listen
// beside the probes and /metrics. It reads through a small Store (the
// database's *db.Store) and writes only through the store's audited
// operations, so that every pause, resume, cancel and resend lands in
// audit_log with who, what, when and from where.
//
// Pages work without JavaScript; one small script polls /api/now to update
// the Now page live. Templates, CSS and the script are embedded; nothing is
// fetched from elsewhere.
package console

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"time"

	"github.com/rs/zerolog"

	"github.com/broadcaster/broadcaster/campaign"
	"github.com/broadcaster/broadcaster/db"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// Reader is what the console's pages read. *db.Store implements it; every
// method is one bounded query or two.
type Reader interface {
	LiveRuns(ctx context.Context, now time.Time) ([]campaign.LiveRun, error)
	Runs(ctx context.Context, f campaign.RunFilter) ([]campaign.RunProgress, error)
	Run(ctx context.Context, id int64) (campaign.RunProgress, error)
	Deliveries(ctx context.Context, f campaign.DeliveryFilter) ([]campaign.DeliveryView, error)
	Failures(ctx context.Context, runID int64) ([]campaign.FailureGroup, error)
	RunRate(ctx context.Context, runID int64) ([]campaign.RateBucket, error)
	Recipient(ctx context.Context, wcID string, limit int) ([]campaign.DeliveryView, []campaign.AttemptView, error)
	Accounts(ctx context.Context, q campaign.AccountsQuery) ([]campaign.AccountView, error)
	Outage(ctx context.Context) (campaign.OutageView, error)
	Campaigns(ctx context.Context, before int64, limit int) ([]campaign.CampaignView, error)
	Campaign(ctx context.Context, id int64) (campaign.CampaignView, error)
	CheckAudiences(ctx context.Context) ([]db.AudienceFinding, error)
}

// Config is the console's settings (SPEC §8 http.console_*) and what it
// shares with the daemon.
type Config struct {
	// ReadToken allows every page and GET /api/ call; required.
	ReadToken string
	// WriteToken also allows the writes; "" makes the console read-only.
	WriteToken string
	// TrustedProxy is the reverse proxy whose X-Forwarded-For and
	// X-Forwarded-Proto are believed; the zero Prefix trusts none.
	TrustedProxy netip.Prefix
	// Location is scheduler.timezone: times are shown in it, and it is the
	// zone of schedules without CRON_TZ= and of "today".
	Location *time.Location
	// Pacing is how accounts are judged (rate_limit and breaker sections).
	Pacing campaign.Pacing
	// Clock tells the time; nil means the wall clock.
	Clock campaign.Clock
	// Log receives write actions and failed requests.
	Log zerolog.Logger
}

// ErrNoReadToken is returned by New without a read token: the console
// never serves customer identifiers unauthenticated.
var ErrNoReadToken = errors.New("console: no read token")

// Console serves the operator console. Create it with New.
type Console struct {
	cfg      Config
	read     Reader
	write    Writer
	pages    *pages
	sessions *sessions
	logins   *loginLimiter
	mux      *http.ServeMux
}

// New returns the console on store. write may be nil for a console without
// writes (then the write token grants nothing more than reading).
func New(cfg Config, read Reader, write Writer) (*Console, error) {
	if cfg.ReadToken == "" {
		return nil, ErrNoReadToken
	}
	if cfg.Location == nil {
		cfg.Location = time.Local
	}
	if cfg.Clock == nil {
		cfg.Clock = campaign.SystemClock{}
	}
	p, err := loadPages(cfg.Location)
	if err != nil {
		return nil, fmt.Errorf("console templates: %w", err)
	}
	c := &Console{cfg: cfg, read: read, write: write, pages: p,
		sessions: newSessions(cfg.Clock), logins: newLoginLimiter(cfg.Clock)}
	c.mux = c.routes()
	return c, nil
}

// ServeHTTP implements http.Handler.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' https: http: data:; "+
		"script-src 'self'; style-src 'self'; frame-ancestors 'none'; form-action 'self'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	c.mux.ServeHTTP(w, r)
}

// routes lists every path. Static assets, the login form and the language
// switch need no token; everything else goes through auth.
func (c *Console) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET /static/", http.FileServerFS(staticFiles))
	mux.HandleFunc("GET /login", c.loginForm)
	mux.HandleFunc("POST /login", c.login)
	mux.HandleFunc("POST /logout", c.logout)
	mux.HandleFunc("GET /lang/{lang}", c.switchLanguage)
	for _, p := range []struct {
		path string
		page pageFunc
	}{
		{"/{$}", c.nowPage},
		{"/runs", c.runsPage},
		{"/runs/{id}", c.runPage},
		{"/recipients", c.recipientPage},
		{"/campaigns", c.campaignsPage},
		{"/campaigns/{id}", c.campaignPage},
		{"/accounts", c.accountsPage},
	} {
		mux.Handle("GET "+p.path, c.auth(permRead, c.serve(p.page)))
		api := "/api" + p.path
		if p.path == "/{$}" {
			api = "/api/now"
		}
		mux.Handle("GET "+api, c.auth(permRead, c.serve(p.page)))
	}
	for _, prefix := range []string{"", "/api"} {
		mux.Handle("POST "+prefix+"/campaigns/{id}/{action}", c.auth(permWrite, c.serve(c.campaignAction)))
		mux.Handle("POST "+prefix+"/runs/{id}/resend", c.auth(permWrite, c.serve(c.resendAction)))
	}
	mux.Handle("/", c.auth(permRead, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.fail(w, r, http.StatusNotFound, errNotFound)
	})))
	return mux
}
