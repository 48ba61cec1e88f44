package sendertest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"time"
)

// Path is the endpoint the server answers, as the provider's.
const Path = "/sendApplet"

// First ids the server hands out: the provider's example values, so that
// tests see real-sized ids from the first message. newMsgId is above 2^53,
// where a float64 would round it; each later id is one higher.
const (
	FirstMsgID    int64 = 697760545
	FirstNewMsgID int64 = 7645748705605226305
)

const (
	// readHeaderTimeout protects the server from clients that never finish
	// their headers.
	readHeaderTimeout = 10 * time.Second
	// shutdownTimeout bounds how long a stopping server waits for handlers;
	// they all end promptly, because their contexts end with the server's.
	shutdownTimeout = 5 * time.Second
)

// Server is a fake sendApplet API: a real HTTP server on a real socket, so
// that clients are tested with their real transport — timeouts, pools and
// cut connections included. It validates requests as the provider would,
// answers like the provider's examples with unique ids, misbehaves on
// demand (see Config), and records everything it saw.
//
// Use Start in tests (like httptest.NewServer), or New and Serve /
// ListenAndServe to serve on a chosen address (broadcaster simulate). A
// Server is also an http.Handler.
type Server struct {
	mu           sync.Mutex
	cfg          Config
	cheap        bool // Config.Cheap as given to New
	arrivals     arrivalLog
	rng          *rand.Rand
	attempts     map[string]int
	nextMsgID    int64
	nextNewMsgID int64
	requests     []Request
	stats        Stats
	changed      chan struct{} // closed and replaced on every change; see Wait
	url          string
	stop         context.CancelFunc // set by Start
	served       chan struct{}      // closed when Start's Serve returns
	serveErr     error              // Start's Serve result, read after served
}

// New returns a Server that is not yet serving: call Serve or
// ListenAndServe, or mount it as an http.Handler.
func New(cfg Config) *Server {
	return &Server{
		cfg:          cfg.clone(),
		cheap:        cfg.Cheap,
		rng:          newRand(cfg.Seed),
		attempts:     make(map[string]int),
		nextMsgID:    FirstMsgID,
		nextNewMsgID: FirstNewMsgID,
		changed:      make(chan struct{}),
	}
}

// newRand is the server's seeded source of random choices.
func newRand(seed uint64) *rand.Rand {
	const stream = 0x62726f6164636173 // "broadcas": any fixed second word
	return rand.New(rand.NewPCG(seed, stream))
}

// Start serves a new Server on a loopback port until Close, like
// httptest.NewServer. The caller must call Close.
func Start(cfg Config) (*Server, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("sendertest: listen: %w", err)
	}
	s := New(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	s.mu.Lock()
	s.url = "http://" + l.Addr().String()
	s.stop, s.served = cancel, served
	s.mu.Unlock()
	go func() {
		defer close(served)
		s.serveErr = s.Serve(ctx, l)
	}()
	return s, nil
}

// Close stops a Server started with Start and waits until it has stopped:
// hanging requests are cut, connections closed, handlers returned. After
// Close, connections to URL are refused. It is a no-op for a Server that
// Start did not start; Serve's context stops those.
func (s *Server) Close() error {
	s.mu.Lock()
	stop, served := s.stop, s.served
	s.mu.Unlock()
	if stop == nil {
		return nil
	}
	stop()
	<-served
	return s.serveErr
}

// URL is the base URL to give a client ("http://127.0.0.1:PORT"), without
// the /sendApplet path; "" before the server listens.
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.url
}

// ListenAndServe listens on addr (e.g. "127.0.0.1:8080") and serves until
// ctx ends, for `broadcaster simulate --listen ADDR`. To learn a port the
// system chose (":0") before the first request, listen yourself and call
// Serve.
func (s *Server) ListenAndServe(ctx context.Context, addr string) error {
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("sendertest: listen: %w", err)
	}
	return s.Serve(ctx, l)
}

// Serve serves on l until ctx ends, then stops: requests still waiting
// (latency, hangs) are ended, handlers are waited for, and l is closed. It
// returns nil after a stop by ctx, or the error that made serving fail.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	s.mu.Lock()
	if s.url == "" {
		s.url = "http://" + l.Addr().String()
	}
	s.mu.Unlock()
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: readHeaderTimeout,
		// Request contexts derive from ctx, so hangs and latencies end
		// when the server stops.
		BaseContext: func(net.Listener) context.Context { return ctx },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		_ = srv.Close()
		s.waitIdle()
		return fmt.Errorf("sendertest: serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		_ = srv.Close()
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("sendertest: serve: %w", err)
	}
	s.waitIdle()
	return nil
}

// waitIdle waits (boundedly) for handlers on hijacked connections, which
// http.Server.Shutdown does not track.
func (s *Server) waitIdle() {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	_ = s.Wait(ctx, func(st Stats) bool { return st.InFlight == 0 })
}

// Update changes the configuration while the server runs; requests that
// arrive afterwards follow it. fn must not keep the pointer. Changing Seed
// restarts the random sequence.
func (s *Server) Update(fn func(*Config)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	seed := s.cfg.Seed
	cfg := s.cfg.clone()
	fn(&cfg)
	s.cfg = cfg.clone()
	if s.cfg.Seed != seed {
		s.rng = newRand(s.cfg.Seed)
	}
}

// token is the Authorization value currently required.
func (s *Server) token() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg.Token
}

// Config returns a copy of the current configuration.
func (s *Server) Config() Config {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg.clone()
}
