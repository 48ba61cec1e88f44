package metrics_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/broadcaster/broadcaster/internal/metrics"
)

// running is a Server started by startServer.
type running struct {
	url  string
	stop context.CancelFunc
	done chan error // Run's result
}

// startServer runs srv on 127.0.0.1:0 and returns once it listens. The
// server is stopped, and Run awaited, when the test ends.
func startServer(t *testing.T, srv *metrics.Server) *running {
	t.Helper()
	srv.Addr = "127.0.0.1:0"
	ctx, cancel := context.WithCancel(context.Background())
	addr, err := srv.Listen(ctx)
	if err != nil {
		cancel()
		t.Fatalf("Listen: %v", err)
	}
	r := &running{url: "http://" + addr.String(), stop: cancel, done: make(chan error, 1)}
	go func() { r.done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-r.done
	})
	return r
}

// get returns the status and body of GET url.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read %s: %v", url, err)
	}
	return resp.StatusCode, string(body)
}

// check is a probe check that fails with err (nil: passes).
func check(name string, err error) metrics.Check {
	return metrics.Check{Name: name, Err: func(context.Context) error { return err }}
}

func TestServerServesProbesAndMetrics(t *testing.T) {
	t.Parallel()
	errStale := errors.New("scheduler stalled: last successful tick 1m0s ago (limit 15s)")
	errPaused := errors.New("API paused globally: connection refused, next probe in 3s")
	errWedged := errors.New("wedged: no database call for 5m0s and none in progress (limit 1m15s)")
	slow := metrics.Check{Name: "slow", Err: func(ctx context.Context) error {
		<-ctx.Done()
		return ctx.Err()
	}}
	tests := []struct {
		name        string
		live, ready []metrics.Check
		livez       string // want: "ok\n" is 200, anything else 503
		readyz      string // also /healthz's
	}{
		{name: "no checks", livez: "ok\n", readyz: "ok\n"},
		{name: "all pass", live: []metrics.Check{check("scheduler", nil)},
			ready: []metrics.Check{check("database", nil), check("scheduler", nil)}, livez: "ok\n", readyz: "ok\n"},
		{name: "not ready, yet live", live: []metrics.Check{check("scheduler", nil), check("dispatcher", nil)},
			ready: []metrics.Check{check("database", metrics.ErrDatabaseUnreachable), check("scheduler", errStale)},
			livez: "ok\n", readyz: "database: database unreachable\nscheduler: " + errStale.Error() + "\n"},
		{name: "a check plugged in: a global pause of the API",
			ready: []metrics.Check{check("database", nil), check("scheduler", nil), check("api", errPaused)},
			livez: "ok\n", readyz: "api: " + errPaused.Error() + "\n"},
		{name: "wedged", live: []metrics.Check{check("scheduler", nil), check("dispatcher", errWedged)},
			livez: "dispatcher: " + errWedged.Error() + "\n", readyz: "ok\n"},
		{name: "checks bounded by the timeout", live: []metrics.Check{slow}, ready: []metrics.Check{check("database", nil), slow},
			livez: "slow: context deadline exceeded\n", readyz: "slow: context deadline exceeded\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, reg := newMetrics(t, nil)
			srv := startServer(t, &metrics.Server{Registry: reg, Live: tt.live, Ready: tt.ready, HealthTimeout: 50 * time.Millisecond})
			for path, want := range map[string]string{"/livez": tt.livez, "/readyz": tt.readyz, "/healthz": tt.readyz} {
				wantStatus := http.StatusServiceUnavailable
				if want == "ok\n" {
					wantStatus = http.StatusOK
				}
				if status, body := get(t, srv.url+path); status != wantStatus || body != want {
					t.Errorf("GET %s = %d %q, want %d %q", path, status, body, wantStatus, want)
				}
			}
			status, body := get(t, srv.url+"/metrics")
			if status != http.StatusOK || !strings.Contains(body, "broadcaster_runs_created_total 0") {
				t.Errorf("GET /metrics = %d:\n%s\nwant 200 with broadcaster_runs_created_total", status, body)
			}
		})
	}
}

// syncBuffer is a log destination that handlers write while the test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// A database that cannot be reached is "database unreachable" to whoever
// asks the probes; the user, database, host and port go to the log only.
func TestServerProbesKeepConnectionDetailsInTheLog(t *testing.T) {
	t.Parallel()
	cause := refusedConnectError(t)
	var log syncBuffer
	srv := startServer(t, &metrics.Server{
		Registry: prometheus.NewRegistry(),
		Ready:    []metrics.Check{metrics.DatabaseCheck(func(context.Context) error { return cause })},
		Log:      zerolog.New(&log),
	})
	for _, path := range []string{"/readyz", "/healthz"} {
		status, body := get(t, srv.url+path)
		if status != http.StatusServiceUnavailable || body != "database: database unreachable\n" {
			t.Errorf("GET %s = %d %q, want 503 \"database: database unreachable\"", path, status, body)
		}
	}
	for _, want := range []string{`"check":"database"`, `"error":"database unreachable"`, "secret_user", "secret_db"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("the log lacks %s:\n%s", want, log.String())
		}
	}
}

func TestServerRoutes(t *testing.T) {
	t.Parallel()
	_, reg := newMetrics(t, nil)
	srv := startServer(t, &metrics.Server{Registry: reg})
	tests := []struct {
		method, path string
		want         int
	}{
		{http.MethodGet, "/metrics", http.StatusOK},
		{http.MethodGet, "/livez", http.StatusOK},
		{http.MethodGet, "/readyz", http.StatusOK},
		{http.MethodHead, "/healthz", http.StatusOK},
		{http.MethodPost, "/readyz", http.StatusMethodNotAllowed},
		{http.MethodPost, "/healthz", http.StatusMethodNotAllowed},
		{http.MethodGet, "/", http.StatusNotFound},
	}
	for _, tt := range tests {
		req, err := http.NewRequest(tt.method, srv.url+tt.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", tt.method, tt.path, err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("%s %s = %d, want %d", tt.method, tt.path, resp.StatusCode, tt.want)
		}
	}
}

// The console is mounted as the fallback: it gets every other path, and
// never /metrics or the probes, which stay open to scrapers.
func TestServerFallback(t *testing.T) {
	t.Parallel()
	_, reg := newMetrics(t, nil)
	fallback := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	srv := startServer(t, &metrics.Server{Registry: reg, Fallback: fallback})
	for path, want := range map[string]int{"/": http.StatusTeapot, "/runs/1": http.StatusTeapot, "/metrics": http.StatusOK, "/livez": http.StatusOK} {
		resp, err := http.Get(srv.url + path)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s = %d, want %d", path, resp.StatusCode, want)
		}
	}
}

func TestServerKeepsServingMetricsWhenPendingCountFails(t *testing.T) {
	t.Parallel()
	_, reg := newMetrics(t, nil)
	var fail atomic.Bool
	reg.MustRegister(metrics.NewPendingCollector(func(context.Context) (int64, error) {
		if fail.Load() {
			return 0, errors.New("connection refused")
		}
		return 12, nil
	}, time.Second))
	srv := startServer(t, &metrics.Server{Registry: reg})

	_, body := get(t, srv.url+"/metrics")
	if !strings.Contains(body, "\nbroadcaster_pending_deliveries 12\n") {
		t.Errorf("/metrics lacks the pending count:\n%s", body)
	}
	fail.Store(true)
	status, body := get(t, srv.url+"/metrics")
	if status != http.StatusOK || strings.Contains(body, "\nbroadcaster_pending_deliveries ") ||
		!strings.Contains(body, "broadcaster_runs_created_total 0") {
		t.Errorf("with the count failing, /metrics = %d:\n%s\nwant 200, the other metrics, no pending value", status, body)
	}
}

func TestServerReturnsListenErrorsAtOnce(t *testing.T) {
	t.Parallel()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = taken.Close() }) // after the parallel subtests, unlike defer
	tests := []struct {
		name string
		addr string
		want error
	}{
		{"address in use", taken.Addr().String(), syscall.EADDRINUSE},
		{"bad address", "127.0.0.1:notaport", nil},
		{"no address", "", metrics.ErrNoAddress},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(context.Background())
			t.Cleanup(cancel)
			check := func(what string, err error) {
				t.Helper()
				if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
					t.Errorf("%s = %v, want an error (%v)", what, err, tt.want)
				} else if tt.addr != "" && !strings.Contains(err.Error(), tt.addr) {
					t.Errorf("%s = %q, want it to name %s", what, err, tt.addr)
				}
			}
			_, err := (&metrics.Server{Addr: tt.addr, Registry: prometheus.NewRegistry()}).Listen(ctx)
			check("Listen", err)
			done := make(chan error, 1)
			go func() { done <- (&metrics.Server{Addr: tt.addr, Registry: prometheus.NewRegistry()}).Run(ctx) }()
			select {
			case err := <-done:
				check("Run", err)
			case <-time.After(10 * time.Second): // a guard against a hang, not a wait
				t.Fatal("Run did not return a listen error; it serves")
			}
		})
	}
}

func TestServerListenerReleasedWithoutRun(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	srv := &metrics.Server{Addr: "127.0.0.1:0", Registry: prometheus.NewRegistry()}
	addr, err := srv.Listen(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cancel() // start-up failed elsewhere: Run is never called
	for {    // AfterFunc closes the listener in its own goroutine: wait for it
		ln, err := net.Listen("tcp", addr.String())
		if err == nil {
			_ = ln.Close()
			break
		}
		runtime.Gosched()
	}
	if err := srv.Run(ctx); err != nil {
		t.Errorf("Run after its listener was released = %v, want nil", err)
	}
}

func TestServerShutsDownGracefully(t *testing.T) {
	t.Parallel()
	entered, release := make(chan struct{}), make(chan struct{})
	srv := startServer(t, &metrics.Server{
		Registry: prometheus.NewRegistry(),
		Ready: []metrics.Check{{Name: "slow", Err: func(context.Context) error {
			close(entered)
			<-release
			return nil
		}}},
		HealthTimeout: time.Minute,
	})
	type answer struct {
		status int
		body   string
		err    error
	}
	answers := make(chan answer, 1)
	go func() {
		resp, err := http.Get(srv.url + "/healthz")
		if err != nil {
			answers <- answer{err: err}
			return
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		answers <- answer{resp.StatusCode, string(body), err}
	}()
	<-entered
	srv.stop() // the request is in flight
	select {
	case err := <-srv.done:
		t.Fatalf("Run returned (%v) while a request was in flight", err)
	default:
	}
	close(release)
	if a := <-answers; a.err != nil || a.status != http.StatusOK || a.body != "ok\n" {
		t.Errorf("in-flight request got %d %q (%v), want 200 ok", a.status, a.body, a.err)
	}
	if err := <-srv.done; err != nil {
		t.Errorf("Run after a graceful stop = %v, want nil", err)
	}
	srv.done <- nil // for the cleanup's wait
	if _, err := http.Get(srv.url + "/healthz"); err == nil {
		t.Error("the server still answers after Run returned")
	}
}
