package sender

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// These tests look inside the Client that New builds, so they are internal
// tests, apart from client_test.go's sends through the fake API.

// newToken is New's token in these tests; finding it in an error is a leak.
const newToken = "tok-8c2d51e0-SECRET-a7f3"

// newTestClient builds a Client with newToken unless o names a token.
func newTestClient(tb testing.TB, o Options) *Client {
	tb.Helper()
	if o.Token == "" {
		o.Token = newToken
	}
	c, err := New(o)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	tb.Cleanup(c.CloseIdleConnections)
	return c
}

func TestNew(t *testing.T) {
	tests := []struct {
		name     string
		options  Options
		endpoint string // "" when New must fail
	}{
		{"plain", Options{BaseURL: "http://api.example"}, "http://api.example/sendApplet"},
		{"trailing slash", Options{BaseURL: "http://api.example/"}, "http://api.example/sendApplet"},
		{"prefix", Options{BaseURL: "https://api.example:8443/wx/"}, "https://api.example:8443/wx/sendApplet"},
		{"upper-case scheme", Options{BaseURL: "HTTP://api.example"}, "http://api.example/sendApplet"},
		{"empty", Options{}, ""},
		{"relative", Options{BaseURL: "/sendApplet"}, ""},
		{"no scheme", Options{BaseURL: "api.example:80"}, ""},
		{"ftp", Options{BaseURL: "ftp://api.example"}, ""},
		{"no host", Options{BaseURL: "http://"}, ""},
		{"credentials", Options{BaseURL: "http://user:pw@api.example"}, ""},
		{"query", Options{BaseURL: "http://api.example/?k=v"}, ""},
		{"bad URL", Options{BaseURL: "http://api example"}, ""},
		{"negative timeout", Options{BaseURL: "http://a", Timeout: -time.Second}, ""},
		{"negative conns", Options{BaseURL: "http://a", MaxConns: -1}, ""},
		{"negative limit", Options{BaseURL: "http://a", MaxResponseBytes: -1}, ""},
		{"huge limit", Options{BaseURL: "http://a", MaxResponseBytes: 1 << 40}, ""},
		{"retry code 1000", Options{BaseURL: "http://a", RetryCodes: []string{"1001", "1000"}}, ""},
		{"empty retry code", Options{BaseURL: "http://a", RetryCodes: []string{" "}}, ""},
		{"token with newline", Options{BaseURL: "http://a", Token: newToken + "\r\nX-Evil: 1"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.options)
			if tt.endpoint == "" {
				if err == nil {
					t.Fatalf("New succeeded, want an error")
				}
				if strings.Contains(err.Error(), newToken) || strings.Contains(err.Error(), "pw@") {
					t.Errorf("error %q leaks a credential", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if c.endpoint != tt.endpoint {
				t.Errorf("endpoint = %q, want %q", c.endpoint, tt.endpoint)
			}
		})
	}
}

func TestNewDefaults(t *testing.T) {
	c := newTestClient(t, Options{BaseURL: "http://api.example"})
	if c.maxBody != DefaultMaxResponseBytes || c.http.Timeout != DefaultTimeout {
		t.Errorf("maxBody %d, timeout %v; want defaults", c.maxBody, c.http.Timeout)
	}
	if !c.retryCodes["1001"] || len(c.retryCodes) != 1 {
		t.Errorf("retry codes = %v, want the default", c.retryCodes)
	}
	tr := c.http.Transport.(*http.Transport)
	if tr.MaxIdleConnsPerHost != DefaultMaxConns || tr.MaxConnsPerHost != DefaultMaxConns {
		t.Errorf("pool %d idle / %d per host; want %d", tr.MaxIdleConnsPerHost, tr.MaxConnsPerHost, DefaultMaxConns)
	}
	none := newTestClient(t, Options{BaseURL: "http://api.example", RetryCodes: []string{}})
	if len(none.retryCodes) != 0 {
		t.Errorf("explicitly empty retry codes became %v", none.retryCodes)
	}
}
