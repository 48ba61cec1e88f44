package metrics

import (
	"context"
	"errors"
	"fmt"
	"io"
	stdlog "log"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"
	"github.com/sourcegraph/conc"
)

// ErrNoAddress is returned by Run when Server.Addr is empty: http.listen
// unset means no server, which the caller decides before starting one.
var ErrNoAddress = errors.New("no listen address")

// Defaults of Server's timeouts, used where a field is 0.
const (
	DefaultReadTimeout     = 5 * time.Second
	DefaultWriteTimeout    = 15 * time.Second // above a scrape's slowest collector (the pending count)
	DefaultHealthTimeout   = 3 * time.Second
	DefaultShutdownTimeout = 5 * time.Second
)

// Server serves Prometheus /metrics and the probes on http.listen, for
// scrapers, Kubernetes, systemd or a load balancer (SPEC §8):
//
//   - /livez fails only when the process is wedged, so that a restart is
//     the cure: never for an unreachable database, since a restart would
//     not bring it back and would lose what is held in memory;
//   - /readyz fails while the process cannot do its job (the database, the
//     scheduler, a global pause of the API): take it out of rotation, let
//     it recover;
//   - /healthz is /readyz under its older name.
//
// Each answers 200 "ok", or 503 with one "name: reason" line per failed
// check. Fill in the exported fields, then call Run (after Listen, to learn
// the address or fail early). Do not copy a Server once it listens.
type Server struct {
	// Addr is the listen address, e.g. "127.0.0.1:9090" (":0" picks a port).
	Addr string
	// Registry is what /metrics serves, normally the registry given to New.
	Registry prometheus.Gatherer
	// Live are /livez's checks; none means always live.
	Live []Check
	// Ready are the checks of /readyz and /healthz; none means always
	// ready.
	Ready []Check
	// Log receives the address served and errors of scrapes and
	// connections. The zero value discards them.
	Log zerolog.Logger
	// Fallback serves every path the probes and /metrics do not: the
	// operator console when http.console is on; nil answers 404.
	Fallback http.Handler

	// Timeouts: reading a request, writing its answer, one probe (its
	// checks run at once, each with the whole of it), and letting requests
	// in flight finish at shutdown. 0 means default.
	ReadTimeout, WriteTimeout, HealthTimeout, ShutdownTimeout time.Duration

	ln       net.Listener // bound by Listen, served by Run
	unlisten func() bool  // stops Listen's release of ln at the end of its ctx
}

// Listen binds Addr now and returns the address bound (with ":0", the port
// picked), so that a caller can fail at start-up on an address in use before
// starting anything else. Calling it is optional: Run listens when it was
// not called. A listener that Run never serves is closed when ctx ends.
func (s *Server) Listen(ctx context.Context) (net.Addr, error) {
	if s.ln != nil {
		return s.ln.Addr(), nil
	}
	if s.Addr == "" {
		return nil, ErrNoAddress
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.Addr)
	if err != nil {
		return nil, fmt.Errorf("http listen on %s: %w", s.Addr, err)
	}
	s.ln = ln
	s.unlisten = context.AfterFunc(ctx, func() { _ = ln.Close() })
	return ln.Addr(), nil
}

// Run serves on the address bound by Listen (binding it first if Listen
// was not called) until ctx ends, then shuts down gracefully: it stops
// accepting, lets requests in flight finish for up to ShutdownTimeout, and
// returns once the server has stopped. A listening error (address in use,
// bad address) is returned at once, before serving. A Server runs once.
func (s *Server) Run(ctx context.Context) error {
	if _, err := s.Listen(ctx); err != nil {
		return err
	}
	ln := s.ln
	if !s.unlisten() {
		return nil // Listen's ctx ended and closed ln: nothing to serve
	}
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: orDefault(s.ReadTimeout, DefaultReadTimeout),
		ReadTimeout:       orDefault(s.ReadTimeout, DefaultReadTimeout),
		WriteTimeout:      orDefault(s.WriteTimeout, DefaultWriteTimeout),
		IdleTimeout:       time.Minute,
		ErrorLog:          stdlog.New(errorLog{s.Log}, "", 0),
	}
	s.Log.Info().Str("addr", ln.Addr().String()).Msg("serving /metrics, /livez, /readyz and /healthz")
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }() // Run waits for it below, on every path
	select {
	case err := <-served:
		return fmt.Errorf("http serve on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), orDefault(s.ShutdownTimeout, DefaultShutdownTimeout))
	defer cancel()
	err := srv.Shutdown(stopCtx)
	if err != nil {
		_ = srv.Close() // cut what did not finish in time
		err = fmt.Errorf("http shutdown: %w", err)
	}
	<-served // http.ErrServerClosed once Serve has returned
	return err
}

// Handler returns the server's routes, GET /metrics, /livez, /readyz and
// /healthz, for tests and for mounting them in another server.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.Registry, promhttp.HandlerOpts{
		// A failing collector (the pending count while the database is
		// down) must not hide every other metric.
		ErrorHandling: promhttp.ContinueOnError,
		ErrorLog:      errorLog{s.Log},
	}))
	live, ready := s.probe("/livez", s.Live), s.probe("/readyz", s.Ready)
	mux.Handle("GET /livez", live)
	mux.Handle("GET /readyz", ready)
	mux.Handle("GET /healthz", ready)
	if s.Fallback != nil {
		mux.Handle("/", s.Fallback)
	}
	return mux
}

// probe returns the handler of a probe: it runs checks at once and answers
// 200 "ok" when all pass, else 503 with a "name: reason" line for each that
// failed. The reasons are public (see Check); each failure is logged with
// its cause.
func (s *Server) probe(path string, checks []Check) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		ctx, cancel := context.WithTimeout(r.Context(), orDefault(s.HealthTimeout, DefaultHealthTimeout))
		errs := make([]error, len(checks))
		var wg conc.WaitGroup
		for i, c := range checks {
			wg.Go(func() { errs[i] = c.Err(ctx) })
		}
		wg.Wait()
		cancel()
		var failed strings.Builder
		for i, err := range errs {
			if err == nil {
				continue
			}
			s.logFailure(path, checks[i].Name, err)
			fmt.Fprintf(&failed, "%s: %v\n", checks[i].Name, err)
		}
		if failed.Len() > 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, failed.String())
			return
		}
		_, _ = io.WriteString(w, "ok\n")
	})
}

// logFailure logs a failed check with the cause that its answer leaves out.
func (s *Server) logFailure(path, name string, err error) {
	ev := s.Log.Warn().Str("probe", path).Str("check", name).Err(err)
	var f *Failure
	if errors.As(err, &f) {
		ev = ev.AnErr("cause", f.Cause)
	}
	ev.Msg("probe check failed")
}

// errorLog passes the HTTP server's and promhttp's error messages to
// zerolog, at warn level: they concern scrapers and probes, not sends.
type errorLog struct{ log zerolog.Logger }

// Println implements promhttp.Logger.
func (l errorLog) Println(v ...any) { l.emit(fmt.Sprintln(v...)) }

// Write implements io.Writer, for the standard logger of http.Server.
func (l errorLog) Write(p []byte) (int, error) {
	l.emit(string(p))
	return len(p), nil
}

func (l errorLog) emit(msg string) {
	l.log.Warn().Str("component", "http").Msg(strings.TrimSpace(msg))
}

// orDefault returns d, or def when d is not positive.
func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}
