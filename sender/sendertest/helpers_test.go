package sendertest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// testToken is the token the test servers require.
const testToken = "fake-token-9c1d"

// fixtureDir holds the provider's examples, verbatim.
const fixtureDir = "../../testdata/provider"

// readFixture returns a fixture; a missing one fails the test.
func readFixture(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(fixtureDir, name))
	if err != nil {
		tb.Fatalf("fixture %s: %v", name, err)
	}
	return b
}

// start serves cfg (requiring testToken unless cfg names a token) until the
// test ends.
func start(tb testing.TB, cfg Config) *Server {
	tb.Helper()
	if cfg.Token == "" {
		cfg.Token = testToken
	}
	s, err := Start(cfg)
	if err != nil {
		tb.Fatalf("Start: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return s
}

// httpClient is a plain client with its own pool, closed with the test.
func httpClient(tb testing.TB) *http.Client {
	tb.Helper()
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}}
	tb.Cleanup(c.CloseIdleConnections)
	return c
}

// body builds a request body from the four fields.
func body(tb testing.TB, wID, wcID, imgURL, content string) []byte {
	tb.Helper()
	b, err := json.Marshal(map[string]string{"wId": wID, "wcId": wcID, "imgUrl": imgURL, "content": content})
	if err != nil {
		tb.Fatalf("marshal: %v", err)
	}
	return b
}

// bodyFor is the provider's example request addressed to wcID.
func bodyFor(tb testing.TB, wcID string) []byte {
	tb.Helper()
	var req map[string]string
	if err := json.Unmarshal(readFixture(tb, "seed-request.json"), &req); err != nil {
		tb.Fatalf("seed request: %v", err)
	}
	return body(tb, req["wId"], wcID, req["imgUrl"], req["content"])
}

// newRequest builds a valid sendApplet request to s.
func newRequest(tb testing.TB, ctx context.Context, s *Server, b []byte) *http.Request {
	tb.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL()+Path, bytes.NewReader(b))
	if err != nil {
		tb.Fatalf("new request: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", testToken)
	return req
}

// answer is a decoded API answer; ids stay json.Numbers so that exactness
// is checked on the text.
type answer struct {
	Code    string          `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data"`
}

// receipt is a decoded data object.
type receipt struct {
	Type       json.Number `json:"type"`
	MsgID      json.Number `json:"msgId"`
	NewMsgID   json.Number `json:"newMsgId"`
	CreateTime json.Number `json:"createTime"`
	WcID       string      `json:"wcId"`
}

// exchange sends req and returns the status, the raw body and the decoded
// answer (zero when the body is not JSON).
func exchange(tb testing.TB, c *http.Client, req *http.Request) (int, []byte, answer) {
	tb.Helper()
	resp, err := c.Do(req)
	if err != nil {
		tb.Fatalf("request: %v", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("read answer: %v", err)
	}
	var a answer
	_ = json.Unmarshal(raw, &a) // HTML pages stay zero
	return resp.StatusCode, raw, a
}

// send posts a valid request for wcID and returns the answer.
func send(tb testing.TB, s *Server, wcID string) (int, answer) {
	tb.Helper()
	status, _, a := exchange(tb, httpClient(tb), newRequest(tb, tb.Context(), s, bodyFor(tb, wcID)))
	return status, a
}

// decodeReceipt decodes an answer's data with numbers kept as text.
func decodeReceipt(tb testing.TB, a answer) receipt {
	tb.Helper()
	d := json.NewDecoder(bytes.NewReader(a.Data))
	d.UseNumber()
	var r receipt
	if err := d.Decode(&r); err != nil {
		tb.Fatalf("data %s: %v", a.Data, err)
	}
	return r
}
