package sendertest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/broadcaster/broadcaster/sender"
)

// waitFor waits for cond on s, failing the test after a generous bound.
func waitFor(tb testing.TB, s *Server, what string, cond func(Stats) bool) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(tb.Context(), 10*time.Second)
	defer cancel()
	if err := s.Wait(ctx, cond); err != nil {
		tb.Fatalf("waiting for %s: %v (stats %+v)", what, err, s.Stats())
	}
}

func TestIDsUniqueAndIncreasing(t *testing.T) {
	const n = 20
	s := start(t, Config{})
	c := httpClient(t)
	bodies := make([][]byte, n)
	for i := range bodies {
		bodies[i] = bodyFor(t, fmt.Sprintf("r%d", i))
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for _, b := range bodies {
		req := newRequest(t, t.Context(), s, b)
		wg.Go(func() {
			resp, err := c.Do(req)
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				err = resp.Body.Close()
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("request: %v", err)
		}
	}
	reqs := s.Requests()
	slices.SortFunc(reqs, func(a, b Request) int { return int(a.MsgID - b.MsgID) })
	for i, r := range reqs {
		if r.MsgID != FirstMsgID+int64(i) || r.NewMsgID != FirstNewMsgID+int64(i) {
			t.Errorf("ids %d/%d at rank %d: not unique and increasing from %d/%d", r.MsgID, r.NewMsgID, i, FirstMsgID, FirstNewMsgID)
		}
	}
	if st := s.Stats(); st.Sent != n || st.Requests != n || st.InFlight != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestFailFirst(t *testing.T) {
	s := start(t, Config{FailFirst: 2})
	steps := []struct {
		wcID    string
		code    string
		attempt int
	}{
		{"alice", "1001", 1},
		{"bob", "1001", 1},
		{"alice", "1001", 2},
		{"alice", "1000", 3},
		{"bob", "1001", 2},
		{"bob", "1000", 3},
		{"alice", "1000", 4},
	}
	for i, st := range steps {
		status, a := send(t, s, st.wcID)
		if status != http.StatusOK || a.Code != st.code {
			t.Errorf("step %d (%s): HTTP %d code %s, want code %s", i, st.wcID, status, a.Code, st.code)
		}
		if st.code == "1001" && (a.Message != "失败" || string(a.Data) != "null") {
			t.Errorf("step %d: failure answer %+v is not the provider's", i, a)
		}
		if rec := s.Requests()[i]; rec.Attempt != st.attempt || rec.Code != st.code {
			t.Errorf("step %d: recorded attempt %d code %s, want %d %s", i, rec.Attempt, rec.Code, st.attempt, st.code)
		}
	}
}

// TestFaultRules checks the precedence documented on Config and that Update
// takes effect on the next request.
func TestFaultRules(t *testing.T) {
	s := start(t, Config{
		FailFirst: 5,
		Faults:    map[string]Fault{"vip": {}, "gone": Code("1003", "not a friend"), "gw": HTTPError(0, "")},
	})
	tests := []struct {
		wcID   string
		status int
		code   string
	}{
		{"vip", 200, "1000"},  // an explicit no-fault entry beats FailFirst
		{"gone", 200, "1003"}, // a per-recipient code
		{"gw", 502, ""},       // a per-recipient HTTP error, default status
		{"other", 200, "1001"},
	}
	for _, tt := range tests {
		if status, a := send(t, s, tt.wcID); status != tt.status || a.Code != tt.code {
			t.Errorf("%s: HTTP %d code %q, want HTTP %d code %q", tt.wcID, status, a.Code, tt.status, tt.code)
		}
	}
	s.Update(func(c *Config) {
		c.FailFirst = 0
		c.Fault = Code("1005", "")
	})
	if status, a := send(t, s, "other"); status != 200 || a.Code != "1005" || a.Message != "失败" {
		t.Errorf("after Update: HTTP %d %+v, want code 1005", status, a)
	}
	if _, a := send(t, s, "gone"); a.Code != "1003" {
		t.Errorf("after Update: per-recipient fault lost, code %s", a.Code)
	}
	s.Update(func(c *Config) { c.Fault = Fault{} })
	if _, a := send(t, s, "other"); a.Code != sender.CodeSent {
		t.Errorf("after clearing the fault: code %s", a.Code)
	}
}

func TestHTTPErrorPage(t *testing.T) {
	s := start(t, Config{ErrorRate: 1})
	status, raw, _ := exchange(t, httpClient(t), newRequest(t, t.Context(), s, bodyFor(t, "bob")))
	if status != http.StatusBadGateway || !strings.Contains(string(raw), "<title>502 Bad Gateway</title>") {
		t.Errorf("answer HTTP %d %s, want nginx's 502 page", status, raw)
	}
	if st := s.Stats(); st.HTTPErrors != 1 || s.Requests()[0].Status != 502 || s.Requests()[0].Sent() {
		t.Errorf("stats %+v, record %+v", st, s.Requests()[0])
	}
	s.Update(func(c *Config) { c.ErrorRate = 0; c.Fault = HTTPError(200, "") })
	status, raw, _ = exchange(t, httpClient(t), newRequest(t, t.Context(), s, bodyFor(t, "bob")))
	if status != http.StatusOK || !strings.HasPrefix(string(raw), "<html>") {
		t.Errorf("answer HTTP %d %s, want an HTML 200", status, raw)
	}
}

// codes sends n requests and lists the codes answered ("" for HTTP errors).
func codes(tb testing.TB, s *Server, n int) []string {
	tb.Helper()
	out := make([]string, n)
	for i := range out {
		_, a := send(tb, s, fmt.Sprintf("r%d", i))
		out[i] = a.Code
	}
	return out
}

func TestRatesAreSeeded(t *testing.T) {
	const n = 40
	cfg := Config{FailRate: 0.4, ErrorRate: 0.2, Seed: 7}
	first := codes(t, start(t, cfg), n)
	second := codes(t, start(t, cfg), n)
	if !slices.Equal(first, second) {
		t.Errorf("same seed, different choices:\n%v\n%v", first, second)
	}
	seen := make(map[string]int)
	for _, c := range first {
		seen[c]++
	}
	if seen["1000"] == 0 || seen["1001"] == 0 || seen[""] == 0 {
		t.Errorf("choices %v do not mix success, 1001 and HTTP errors", seen)
	}
	cfg.Seed = 8
	if other := codes(t, start(t, cfg), n); slices.Equal(first, other) {
		t.Errorf("seed ignored: seeds 7 and 8 chose alike")
	}
	always := codes(t, start(t, Config{FailRate: 1}), 5)
	if !slices.Equal(always, []string{"1001", "1001", "1001", "1001", "1001"}) {
		t.Errorf("FailRate 1: %v", always)
	}
}

func TestLatency(t *testing.T) {
	const latency = 80 * time.Millisecond
	s := start(t, Config{Latency: latency, LatencyJitter: 20 * time.Millisecond})
	began := time.Now()
	if status, a := send(t, s, "bob"); status != 200 || a.Code != sender.CodeSent {
		t.Fatalf("HTTP %d %+v", status, a)
	}
	if took := time.Since(began); took < latency {
		t.Errorf("answered after %v, latency is %v", took, latency)
	}
}

// TestHangEndsWithClient: a hung request is given up by its client; the
// server notices, records it unanswered and frees the handler.
func TestHangEndsWithClient(t *testing.T) {
	s := start(t, Config{Fault: Hang()})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	arrived := make(chan error, 1)
	go func() {
		arrived <- s.Wait(ctx, func(st Stats) bool { return st.Requests == 1 })
		cancel()
	}()
	_, err := httpClient(t).Do(newRequest(t, ctx, s, bodyFor(t, "bob")))
	cancel()
	if werr := <-arrived; werr != nil {
		t.Fatalf("request never arrived: %v", werr)
	}
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("client error %v, want cancellation", err)
	}
	waitFor(t, s, "the hung handler to end", func(st Stats) bool { return st.InFlight == 0 && st.Unanswered == 1 })
	if rec := s.Requests()[0]; rec.Status != 0 || rec.Sent() || rec.Fault != FaultHang {
		t.Errorf("recorded %+v", rec)
	}
}

// TestCloseEndsHang: Close does not wait for hung requests to be given up;
// it cuts them, and afterwards connections are refused.
func TestCloseEndsHang(t *testing.T) {
	s, err := Start(Config{Fault: Hang()})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	url := s.URL()
	result := make(chan error, 1)
	req := newRequest(t, t.Context(), s, bodyFor(t, "bob"))
	c := httpClient(t)
	go func() {
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
			err = fmt.Errorf("answered HTTP %d", resp.StatusCode)
		}
		result <- err
	}()
	waitFor(t, s, "the request", func(st Stats) bool { return st.Requests == 1 })
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := <-result; err == nil || strings.HasPrefix(err.Error(), "answered") {
		t.Errorf("hung client got %v, want a cut connection", err)
	}
	if st := s.Stats(); st.InFlight != 0 || st.Unanswered != 1 {
		t.Errorf("after Close: %+v", st)
	}
	if conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://")); err == nil {
		conn.Close()
		t.Errorf("connection accepted after Close")
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestCut(t *testing.T) {
	s := start(t, Config{Fault: Cut()})
	resp, err := httpClient(t).Do(newRequest(t, t.Context(), s, bodyFor(t, "bob")))
	if err != nil {
		t.Fatalf("request: %v", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !errors.Is(err, io.ErrUnexpectedEOF) || !strings.HasPrefix(string(raw), `{"code":"1000"`) {
		t.Errorf("HTTP %d, %q, %v; want half a success answer then unexpected EOF", resp.StatusCode, raw, err)
	}
	if rec := s.Requests()[0]; !rec.Sent() || rec.NewMsgID != FirstNewMsgID {
		t.Errorf("a cut answer is a sent message; recorded %+v", rec)
	}
}

func TestDrop(t *testing.T) {
	s := start(t, Config{Faults: map[string]Fault{"bob": Drop()}})
	_, err := httpClient(t).Do(newRequest(t, t.Context(), s, bodyFor(t, "bob")))
	if err == nil {
		t.Fatalf("dropped request was answered")
	}
	waitFor(t, s, "the drop", func(st Stats) bool { return st.InFlight == 0 })
	if rec, st := s.Requests()[0], s.Stats(); rec.Sent() || rec.Status != 0 || st.Unanswered != 1 {
		t.Errorf("recorded %+v, stats %+v", rec, st)
	}
}

func TestMaxInFlight(t *testing.T) {
	const n = 5
	s := start(t, Config{Fault: Hang()})
	ctx, cancel := context.WithCancel(t.Context())
	c := httpClient(t)
	reqs := make([]*http.Request, n)
	for i := range reqs {
		reqs[i] = newRequest(t, ctx, s, bodyFor(t, fmt.Sprintf("r%d", i)))
	}
	var wg sync.WaitGroup
	for _, req := range reqs {
		wg.Go(func() {
			if resp, err := c.Do(req); err == nil {
				resp.Body.Close()
			}
		})
	}
	waitFor(t, s, "all requests in flight", func(st Stats) bool { return st.InFlight == n })
	cancel()
	wg.Wait()
	waitFor(t, s, "all handlers to end", func(st Stats) bool { return st.InFlight == 0 })
	if got := s.MaxInFlight(); got != n {
		t.Errorf("MaxInFlight = %d, want %d", got, n)
	}
}

// TestServe serves on a caller's listener until the context ends.
func TestServe(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	s := New(Config{Token: testToken})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, l) }()
	req := newRequest(t, ctx, s, bodyFor(t, "bob"))
	req.URL.Scheme, req.URL.Host = "http", l.Addr().String() // URL() is set once Serve runs
	if status, raw, _ := exchange(t, httpClient(t), req); status != 200 {
		t.Errorf("HTTP %d %s", status, raw)
	}
	if s.URL() != "http://"+l.Addr().String() {
		t.Errorf("URL %q, listener %s", s.URL(), l.Addr())
	}
	cancel()
	if err := <-served; err != nil {
		t.Errorf("Serve = %v, want nil after the context ended", err)
	}
	if conn, err := net.Dial("tcp", l.Addr().String()); err == nil {
		conn.Close()
		t.Errorf("listener still open after Serve returned")
	}
}

func TestListenAndServe(t *testing.T) {
	s := New(Config{})
	if err := s.ListenAndServe(t.Context(), "256.0.0.1:bad"); err == nil {
		t.Errorf("ListenAndServe on a bad address succeeded")
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.ListenAndServe(ctx, "127.0.0.1:0"); err != nil {
		t.Errorf("ListenAndServe with an ended context = %v, want nil", err)
	}
}

// TestConfigIsCopied: neither the caller's map nor the returned copy can
// change the server's behaviour behind its lock.
func TestConfigIsCopied(t *testing.T) {
	faults := map[string]Fault{"bob": Hang()}
	s := start(t, Config{Faults: faults})
	faults["bob"] = Code("1001", "")
	s.Config().Faults["bob"] = Code("1001", "")
	if got := s.Config().Faults["bob"]; got.Kind != FaultHang {
		t.Errorf("server's fault for bob became %+v", got)
	}
}

func TestFaultKindString(t *testing.T) {
	for k, want := range map[FaultKind]string{FaultNone: "none", FaultCode: "code", FaultHTTP: "http",
		FaultHang: "hang", FaultCut: "cut", FaultDrop: "drop", FaultKind(99): "invalid"} {
		if k.String() != want {
			t.Errorf("%d.String() = %q, want %q", k, k.String(), want)
		}
	}
}

func TestCrowdedWindows(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(ms ...int) []time.Time {
		var ts []time.Time
		for _, m := range ms {
			ts = append(ts, t0.Add(time.Duration(m)*time.Millisecond))
		}
		return ts
	}
	tests := []struct {
		name     string
		arrivals []time.Time
		want     int
	}{
		{"spaced at the rate", at(0, 500, 1000, 1500, 2000), 0},
		{"burst then the rate", at(0, 1, 500, 1000), 0},
		{"one too many in a second", at(0, 1, 300, 600), 1},
		{"the fourth just past a window, within the tolerance", at(0, 1, 500, 995), 0},
	}
	for _, tt := range tests {
		if got := CrowdedWindows(tt.arrivals, 1, 2, 10*time.Millisecond); len(got) != tt.want {
			t.Errorf("%s: %v, want %d crowded windows", tt.name, got, tt.want)
		}
	}
}
