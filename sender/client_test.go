package sender_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/broadcaster/broadcaster/campaign"
	"github.com/broadcaster/broadcaster/sender"
	"github.com/broadcaster/broadcaster/sender/sendertest"
)

// testToken is long and odd enough that finding it anywhere is a leak.
const testToken = "tok-3f9a1c77-SECRET-e2b4"

// startFake starts a fake API requiring testToken, closed at the end of the
// test.
func startFake(tb testing.TB, cfg sendertest.Config) *sendertest.Server {
	tb.Helper()
	if cfg.Token == "" {
		cfg.Token = testToken
	}
	s, err := sendertest.Start(cfg)
	if err != nil {
		tb.Fatalf("start fake API: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("close fake API: %v", err)
		}
	})
	return s
}

// newClient builds a Client with testToken unless o names a token.
func newClient(tb testing.TB, o sender.Options) *sender.Client {
	tb.Helper()
	if o.Token == "" {
		o.Token = testToken
	}
	c, err := sender.New(o)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	tb.Cleanup(c.CloseIdleConnections)
	return c
}

// messageTo is the provider's example message, addressed to wcID.
func messageTo(tb testing.TB, wcID string) campaign.Message {
	tb.Helper()
	m := sender.SeedMessage(tb)
	m.WcID = wcID
	return m
}

// assertNoToken fails if the token appears anywhere in the attempt, as
// written or, in a JSON response, once its strings are decoded.
func assertNoToken(tb testing.TB, a campaign.Attempt) {
	tb.Helper()
	fields := []string{a.Code, a.Error, a.Response}
	if a.Receipt != nil {
		fields = append(fields, a.Receipt.WcID)
		for _, text := range a.Receipt.Overflow {
			fields = append(fields, text)
		}
	}
	var body any
	if json.Unmarshal([]byte(a.Response), &body) == nil {
		fields = append(fields, sender.JSONStrings(body)...)
	}
	for _, f := range fields {
		if strings.Contains(f, testToken) {
			tb.Errorf("token leaked into attempt: %+v", a)
		}
	}
}

// lastRequest returns the fake's last record for wcID.
func lastRequest(tb testing.TB, s *sendertest.Server, wcID string) sendertest.Request {
	tb.Helper()
	reqs := s.Requests()
	for i := len(reqs) - 1; i >= 0; i-- {
		if reqs[i].WcID == wcID {
			return reqs[i]
		}
	}
	tb.Fatalf("fake API saw no request for %s", wcID)
	return sendertest.Request{}
}

// TestSendOutcomes sends through a real socket to the fake API, one
// recipient per kind of answer, and checks both sides: what the client
// concluded and what the "provider" did.
func TestSendOutcomes(t *testing.T) {
	tests := []struct {
		wcID       string
		fault      sendertest.Fault
		outcome    campaign.Outcome
		status     int
		code       string
		err        string
		serverSent bool
	}{
		{"alice", sendertest.Fault{}, campaign.OutcomeSent, 200, "1000", "", true},
		{"busy", sendertest.Code("1001", ""), campaign.OutcomeRetry, 200, "1001", "code 1001: 失败", false},
		{"stranger", sendertest.Code("1003", "not a friend"), campaign.OutcomeFailed, 200, "1003", "code 1003: not a friend", false},
		{"h400", sendertest.HTTPError(400, ""), campaign.OutcomeFailed, 400, "", "HTTP 400 Bad Request", false},
		{"h401", sendertest.HTTPError(401, ""), campaign.OutcomeFailed, 401, "", "HTTP 401 Unauthorized", false},
		{"h404", sendertest.HTTPError(404, ""), campaign.OutcomeFailed, 404, "", "HTTP 404 Not Found", false},
		{"h408", sendertest.HTTPError(408, ""), campaign.OutcomeRetry, 408, "", "HTTP 408 Request Timeout", false},
		{"h429", sendertest.HTTPError(429, ""), campaign.OutcomeRetry, 429, "", "HTTP 429 Too Many Requests", false},
		{"h502", sendertest.HTTPError(502, ""), campaign.OutcomeRetry, 502, "", "HTTP 502 Bad Gateway", false},
		{"h503", sendertest.HTTPError(503, ""), campaign.OutcomeRetry, 503, "", "HTTP 503 Service Unavailable", false},
		{"h504", sendertest.HTTPError(504, ""), campaign.OutcomeRetry, 504, "", "HTTP 504 Gateway Timeout", false},
		{"h500", sendertest.HTTPError(500, ""), campaign.OutcomeAmbiguous, 500, "", "HTTP 500 Internal Server Error", false},
		{"html200", sendertest.HTTPError(200, ""), campaign.OutcomeAmbiguous, 200, "", "unparseable HTTP 200 response", false},
		{"cut", sendertest.Cut(), campaign.OutcomeAmbiguous, 200, "", "HTTP 200 response cut", true},
		{"drop", sendertest.Drop(), campaign.OutcomeAmbiguous, 0, "", "connection lost after request was written", false},
		{"hang", sendertest.Hang(), campaign.OutcomeAmbiguous, 0, "", "timeout after request was written", false},
	}
	faults := make(map[string]sendertest.Fault)
	for _, tt := range tests {
		faults[tt.wcID] = tt.fault
	}
	fake := startFake(t, sendertest.Config{Faults: faults})
	client := newClient(t, sender.Options{BaseURL: fake.URL(), Timeout: time.Second})
	for _, tt := range tests {
		t.Run(tt.wcID, func(t *testing.T) {
			before := time.Now()
			a := client.Send(t.Context(), messageTo(t, tt.wcID))
			if a.Outcome != tt.outcome || a.HTTPStatus != tt.status || a.Code != tt.code {
				t.Errorf("attempt = %v HTTP %d code %q (%q); want %v HTTP %d code %q",
					a.Outcome, a.HTTPStatus, a.Code, a.Error, tt.outcome, tt.status, tt.code)
			}
			if !sender.MatchesError(a.Error, tt.err) {
				t.Errorf("Error = %q, want it to contain %q", a.Error, tt.err)
			}
			if a.StartedAt.Before(before) || a.Duration <= 0 {
				t.Errorf("StartedAt %v, Duration %v: not timed", a.StartedAt, a.Duration)
			}
			assertNoToken(t, a)
			rec := lastRequest(t, fake, tt.wcID)
			if rec.Sent() != tt.serverSent {
				t.Errorf("fake API sent = %v, want %v", rec.Sent(), tt.serverSent)
			}
			if a.Outcome == campaign.OutcomeSent {
				want := &campaign.Receipt{MsgID: rec.MsgID, NewMsgID: rec.NewMsgID, CreateTime: rec.CreateTime, WcID: tt.wcID}
				sender.AssertReceipt(t, a.Receipt, want)
			}
		})
	}
}

// TestSendExactIDs checks that ids above 2^53 arrive exactly, and that the
// request the fake received is the provider's example.
func TestSendExactIDs(t *testing.T) {
	fake := startFake(t, sendertest.Config{})
	client := newClient(t, sender.Options{BaseURL: fake.URL()})
	want := sender.SeedMessage(t)
	for i, wantNewMsgID := range []int64{7645748705605226305, 7645748705605226306, 7645748705605226307} {
		a := client.Send(t.Context(), want)
		if a.Outcome != campaign.OutcomeSent || a.Receipt == nil {
			t.Fatalf("send %d: %v %q", i, a.Outcome, a.Error)
		}
		if a.Receipt.NewMsgID != wantNewMsgID || a.Receipt.MsgID != sendertest.FirstMsgID+int64(i) {
			t.Errorf("send %d: msgId %d newMsgId %d; want %d %d", i, a.Receipt.MsgID, a.Receipt.NewMsgID,
				sendertest.FirstMsgID+int64(i), wantNewMsgID)
		}
		if !strings.Contains(a.Response, "7645748705605226") {
			t.Errorf("send %d: Response %q is not the raw body", i, a.Response)
		}
	}
	rec := fake.Requests()[0]
	if rec.WID != want.WID || rec.WcID != want.WcID || rec.ImgURL != want.ImgURL || rec.Content != want.Content {
		t.Errorf("fake API received %+v, want %+v", rec, want)
	}
	if ct := rec.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
}

// TestSendRefusedRequests provokes the fake API's real validation (not
// injected faults): each refusal is permanent.
func TestSendRefusedRequests(t *testing.T) {
	fake := startFake(t, sendertest.Config{})
	tests := []struct {
		name    string
		options sender.Options
		mutate  func(*campaign.Message)
		status  int
	}{
		{"wrong token", sender.Options{BaseURL: fake.URL(), Token: "not-the-token"}, func(*campaign.Message) {}, 401},
		{"wrong path", sender.Options{BaseURL: fake.URL() + "/v2"}, func(*campaign.Message) {}, 404},
		{"whole callback message as content", sender.Options{BaseURL: fake.URL()}, func(m *campaign.Message) {
			m.Content = "<msg>" + m.Content + "</msg>"
		}, 400},
		{"relative imgUrl", sender.Options{BaseURL: fake.URL()}, func(m *campaign.Message) { m.ImgURL = "/cover.png" }, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := sender.SeedMessage(t)
			tt.mutate(&m)
			a := newClient(t, tt.options).Send(t.Context(), m)
			if a.Outcome != campaign.OutcomeFailed || a.HTTPStatus != tt.status || a.Code != sendertest.CodeInvalid {
				t.Errorf("attempt = %v HTTP %d code %q (%q); want failed HTTP %d code %s",
					a.Outcome, a.HTTPStatus, a.Code, a.Error, tt.status, sendertest.CodeInvalid)
			}
			assertNoToken(t, a)
		})
	}
}

func TestSendConnectionRefused(t *testing.T) {
	fake, err := sendertest.Start(sendertest.Config{})
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	url := fake.URL()
	if err := fake.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	a := newClient(t, sender.Options{BaseURL: url}).Send(t.Context(), sender.SeedMessage(t))
	if a.Outcome != campaign.OutcomeRetry || a.HTTPStatus != 0 {
		t.Fatalf("attempt = %v HTTP %d (%q); want retry", a.Outcome, a.HTTPStatus, a.Error)
	}
	if !strings.HasPrefix(a.Error, "request not sent: ") || !strings.Contains(a.Error, "connection refused") {
		t.Errorf("Error = %q", a.Error)
	}
}

func TestSendTLSHandshakeFailure(t *testing.T) {
	fake := sendertest.New(sendertest.Config{})
	srv := httptest.NewUnstartedServer(fake)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake error is the point
	srv.StartTLS()                                   // a certificate the client does not trust
	t.Cleanup(srv.Close)
	a := newClient(t, sender.Options{BaseURL: srv.URL}).Send(t.Context(), sender.SeedMessage(t))
	if a.Outcome != campaign.OutcomeRetry || !strings.HasPrefix(a.Error, "request not sent: ") {
		t.Errorf("attempt = %v (%q); want retry, not sent", a.Outcome, a.Error)
	}
	if n := fake.Stats().Requests; n != 0 {
		t.Errorf("fake API saw %d requests", n)
	}
}

func TestSendContextEndedBeforeSending(t *testing.T) {
	fake := startFake(t, sendertest.Config{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	a := newClient(t, sender.Options{BaseURL: fake.URL()}).Send(ctx, sender.SeedMessage(t))
	if a.Outcome != campaign.OutcomeRetry || a.Error != "request not sent: context canceled" {
		t.Errorf("attempt = %v (%q); want retry, not sent", a.Outcome, a.Error)
	}
	if n := fake.Stats().Requests; n != 0 {
		t.Errorf("fake API saw %d requests", n)
	}
}

// TestSendCancelledAfterWriting cancels once the fake holds the request: the
// message may have gone out.
func TestSendCancelledAfterWriting(t *testing.T) {
	fake := startFake(t, sendertest.Config{Fault: sendertest.Hang()})
	client := newClient(t, sender.Options{BaseURL: fake.URL()})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	arrived := make(chan error, 1)
	go func() {
		arrived <- fake.Wait(ctx, func(st sendertest.Stats) bool { return st.Requests == 1 })
		cancel()
	}()
	a := client.Send(ctx, sender.SeedMessage(t))
	cancel() // in case the request never arrived
	if err := <-arrived; err != nil {
		t.Fatalf("the request never reached the fake API: %v", err)
	}
	if a.Outcome != campaign.OutcomeAmbiguous || a.Error != "cancelled after request was written" {
		t.Errorf("attempt = %v (%q); want ambiguous", a.Outcome, a.Error)
	}
}

// TestSendOversizeResponse: an answer larger than the limit cannot be read
// whole, so even a success is unknown.
func TestSendOversizeResponse(t *testing.T) {
	fake := startFake(t, sendertest.Config{})
	const limit = 100
	a := newClient(t, sender.Options{BaseURL: fake.URL(), MaxResponseBytes: limit}).Send(t.Context(), sender.SeedMessage(t))
	if a.Outcome != campaign.OutcomeAmbiguous || a.Error != "HTTP 200 response larger than 100 bytes" {
		t.Errorf("attempt = %v (%q); want ambiguous", a.Outcome, a.Error)
	}
	if len(a.Response) == 0 || len(a.Response) > limit || !utf8.ValidString(a.Response) {
		t.Errorf("Response (%d bytes) = %q; want 1..%d bytes of valid UTF-8", len(a.Response), a.Response, limit)
	}
	if !lastRequest(t, fake, sender.SeedMessage(t).WcID).Sent() {
		t.Errorf("fake API did not send; the test no longer shows why oversize is ambiguous")
	}
}

// TestSendErrorPageOversize: an oversize error page does not matter; its
// status decides.
func TestSendErrorPageOversize(t *testing.T) {
	page := "<html>" + strings.Repeat("<p>overloaded</p>", 1000) + "</html>"
	fake := startFake(t, sendertest.Config{Fault: sendertest.HTTPError(503, page)})
	a := newClient(t, sender.Options{BaseURL: fake.URL(), MaxResponseBytes: 256}).Send(t.Context(), sender.SeedMessage(t))
	if a.Outcome != campaign.OutcomeRetry || a.HTTPStatus != 503 || len(a.Response) != 256 {
		t.Errorf("attempt = %v HTTP %d, %d bytes kept (%q); want retry HTTP 503, 256 bytes", a.Outcome, a.HTTPStatus, len(a.Response), a.Error)
	}
}

// TestSendRedirectNotFollowed: following a redirect would re-send (or turn
// into a GET) a non-idempotent POST.
func TestSendRedirectNotFollowed(t *testing.T) {
	fake := startFake(t, sendertest.Config{})
	redirect := httptest.NewServer(http.RedirectHandler(fake.URL()+sendertest.Path, http.StatusTemporaryRedirect))
	t.Cleanup(redirect.Close)
	a := newClient(t, sender.Options{BaseURL: redirect.URL}).Send(t.Context(), sender.SeedMessage(t))
	if a.Outcome != campaign.OutcomeFailed || a.HTTPStatus != http.StatusTemporaryRedirect {
		t.Errorf("attempt = %v HTTP %d (%q); want failed 307", a.Outcome, a.HTTPStatus, a.Error)
	}
	if n := fake.Stats().Requests; n != 0 {
		t.Errorf("redirect followed: fake API saw %d requests", n)
	}
}

// TestSendTokenNeverReported: a provider or proxy that echoes the request's
// headers must not make the token reach the database or the logs.
func TestSendTokenNeverReported(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   func(token string) string
	}{
		{"echoed in a failure message", 200, func(tok string) string {
			return `{"code":"1003","message":"bad token ` + tok + `","data":null}`
		}},
		{"echoed as the code", 200, func(tok string) string { return `{"code":"` + tok + `"}` }},
		{"echoed in a receipt", 200, func(tok string) string {
			return `{"code":"1000","data":{"msgId":1,"newMsgId":2,"createTime":3,"wcId":"` + tok + `"}}`
		}},
		{"echoed in an error page", 502, func(tok string) string { return "<html>Authorization: " + tok + "</html>" }},
		{"echoed in a 401", 401, func(tok string) string { return `{"code":"401","msg":"` + tok + ` expired"}` }},
		{"echoed \\u-escaped", 200, func(tok string) string {
			return `{"code":"1003","msg":"bad token ` + unicodeEscaped(tok, "\\u%04X") + `"}`
		}},
		{"echoed with lower-case hex escapes, as a key", 200, func(tok string) string {
			return `{"code":"1003","headers":{"` + unicodeEscaped(tok, "\\u%04x") + `":true}}`
		}},
		{"echoed in an overflowing id", 200, func(tok string) string {
			return `{"code":"1000","data":{"msgId":1,"newMsgId":"` + unicodeEscaped(tok, "\\u%04x") + `"}}`
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, tt.body(r.Header.Get("Authorization")))
			}))
			t.Cleanup(echo.Close)
			a := newClient(t, sender.Options{BaseURL: echo.URL}).Send(t.Context(), sender.SeedMessage(t))
			assertNoToken(t, a)
			if !strings.Contains(a.Response+a.Error+a.Code, sender.Redacted) && (a.Receipt == nil || a.Receipt.WcID != sender.Redacted) && (a.Receipt == nil || a.Receipt.Overflow["newMsgId"] != sender.Redacted) {
				t.Errorf("echo not seen, the test proves nothing: %+v", a)
			}
		})
	}
}

// TestSendPoolBounded: the transport keeps at most MaxConns connections, so
// the worker pool size really bounds the load on the provider.
func TestSendPoolBounded(t *testing.T) {
	const conns, sends = 2, 12
	fake := startFake(t, sendertest.Config{Latency: 20 * time.Millisecond})
	client := newClient(t, sender.Options{BaseURL: fake.URL(), MaxConns: conns})
	var wg sync.WaitGroup
	outcomes := make(chan campaign.Outcome, sends)
	for i := range sends {
		m := messageTo(t, fmt.Sprintf("r%d", i))
		wg.Go(func() { outcomes <- client.Send(t.Context(), m).Outcome })
	}
	wg.Wait()
	close(outcomes)
	for o := range outcomes {
		if o != campaign.OutcomeSent {
			t.Errorf("outcome %v, want sent", o)
		}
	}
	if got := fake.MaxInFlight(); got > conns {
		t.Errorf("fake API had %d requests in flight, pool allows %d", got, conns)
	}
	remotes := make(map[string]bool)
	for _, r := range fake.Requests() {
		remotes[r.RemoteAddr] = true
	}
	if len(remotes) > conns {
		t.Errorf("client opened %d connections, pool allows %d", len(remotes), conns)
	}
}

func TestSendInvalidMessage(t *testing.T) {
	fake := startFake(t, sendertest.Config{})
	a := newClient(t, sender.Options{BaseURL: fake.URL()}).Send(t.Context(), messageTo(t, ""))
	if a.Outcome != campaign.OutcomeFailed || a.Error != "invalid message: wcId is empty" {
		t.Errorf("attempt = %v (%q); want failed", a.Outcome, a.Error)
	}
	if n := fake.Stats().Requests; n != 0 {
		t.Errorf("fake API saw %d requests", n)
	}
}

// TestSendBinaryGarbage: whatever the body, Response fits a text column.
func TestSendBinaryGarbage(t *testing.T) {
	garbage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = w.Write([]byte("\x00\xff\xfe{\"code\x00\":1000}\xc3"))
	}))
	t.Cleanup(garbage.Close)
	a := newClient(t, sender.Options{BaseURL: garbage.URL}).Send(t.Context(), sender.SeedMessage(t))
	if a.Outcome != campaign.OutcomeAmbiguous {
		t.Errorf("Outcome = %v (%q), want ambiguous", a.Outcome, a.Error)
	}
	if !utf8.ValidString(a.Response) || strings.ContainsRune(a.Response, 0) {
		t.Errorf("Response %q is not storable", a.Response)
	}
}

// unicodeEscaped writes every character of s as a JSON \u escape in format.
func unicodeEscaped(s, format string) string {
	var b strings.Builder
	for _, r := range s {
		fmt.Fprintf(&b, format, r)
	}
	return b.String()
}
