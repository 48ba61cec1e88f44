package sender

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/broadcaster/broadcaster/campaign"
)

// Transport errors as net/http reports them, built by hand so that every row
// of the table can be checked without provoking it on a network.
func refusedError() error {
	return &url.Error{Op: "Post", URL: "http://127.0.0.1:1/sendApplet", Err: &net.OpError{
		Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED),
	}}
}

func dnsError() error {
	return &url.Error{Op: "Post", URL: "http://api.invalid/sendApplet", Err: &net.OpError{
		Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "api.invalid", IsNotFound: true},
	}}
}

func tlsError() error {
	return &url.Error{Op: "Post", URL: "https://api.example/sendApplet", Err: &tls.CertificateVerificationError{
		Err: x509.UnknownAuthorityError{},
	}}
}

func readTimeoutError() error {
	return &url.Error{Op: "Post", URL: "http://api.example/sendApplet", Err: &net.OpError{
		Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded,
	}}
}

func wrapped(err error) error {
	return &url.Error{Op: "Post", URL: "http://api.example/sendApplet", Err: err}
}

// TestClassify walks SPEC §2's outcome table row by row, plus the decisions
// the table leaves open (500 and other statuses, redirects, bodies of error
// statuses, oversize bodies).
func TestClassify(t *testing.T) {
	success := readFixture(t, "seed-success-response.json")
	failure := readFixture(t, "seed-error-response.json")
	retry1001 := map[string]bool{"1001": true}
	type want struct {
		outcome campaign.Outcome
		code    string
		err     string // substring of Attempt.Error; "" means Error must be ""
		// transport: the attempt concerns the API as a whole, not the
		// account (Attempt.Transport): it pauses sending globally and
		// never counts against the account's circuit breaker.
		transport bool
	}
	tests := []struct {
		name  string
		x     Exchange
		retry map[string]bool
		want  want
	}{
		// code 1000 → sent.
		{"code 1000", Exchange{Written: true, HTTPStatus: 200, Body: success}, retry1001,
			want{campaign.OutcomeSent, "1000", "", false}},
		{"code 1000 as number", Exchange{Written: true, HTTPStatus: 200, Body: []byte(`{"code":1000,"data":null}`)}, retry1001,
			want{campaign.OutcomeSent, "1000", "", false}},
		{"code 1000 with HTTP 201", Exchange{Written: true, HTTPStatus: 201, Body: success}, retry1001,
			want{campaign.OutcomeSent, "1000", "", false}},
		// A code listed in retry codes → retried.
		{"code 1001", Exchange{Written: true, HTTPStatus: 200, Body: failure}, retry1001,
			want{campaign.OutcomeRetry, "1001", "code 1001: 失败", false}},
		{"configured retry code", Exchange{Written: true, HTTPStatus: 200, Body: []byte(`{"code":"1005","msg":"busy"}`)},
			map[string]bool{"1001": true, "1005": true}, want{campaign.OutcomeRetry, "1005", "code 1005: busy", false}},
		// Any other code → failed.
		{"other code", Exchange{Written: true, HTTPStatus: 200, Body: []byte(`{"code":"1002","message":"wcId invalid","data":null}`)}, retry1001,
			want{campaign.OutcomeFailed, "1002", "code 1002: wcId invalid", false}},
		{"1001 when not a retry code", Exchange{Written: true, HTTPStatus: 200, Body: failure}, nil,
			want{campaign.OutcomeFailed, "1001", "code 1001: 失败", false}},
		{"other code without text", Exchange{Written: true, HTTPStatus: 200, Body: []byte(`{"code":-1}`)}, retry1001,
			want{campaign.OutcomeFailed, "-1", "code -1", false}},
		// HTTP 4xx other than 408/429 → failed.
		{"HTTP 400", Exchange{Written: true, HTTPStatus: 400}, retry1001, want{campaign.OutcomeFailed, "", "HTTP 400 Bad Request", false}},
		{"HTTP 401", Exchange{Written: true, HTTPStatus: 401}, retry1001, want{campaign.OutcomeFailed, "", "HTTP 401 Unauthorized", false}},
		{"HTTP 403", Exchange{Written: true, HTTPStatus: 403}, retry1001, want{campaign.OutcomeFailed, "", "HTTP 403", false}},
		{"HTTP 404", Exchange{Written: true, HTTPStatus: 404}, retry1001, want{campaign.OutcomeFailed, "", "HTTP 404 Not Found", false}},
		{"HTTP 405", Exchange{Written: true, HTTPStatus: 405}, retry1001, want{campaign.OutcomeFailed, "", "HTTP 405", false}},
		{"HTTP 413", Exchange{Written: true, HTTPStatus: 413}, retry1001, want{campaign.OutcomeFailed, "", "HTTP 413", false}},
		{"HTTP 422", Exchange{Written: true, HTTPStatus: 422}, retry1001, want{campaign.OutcomeFailed, "", "HTTP 422", false}},
		{"HTTP 499", Exchange{Written: true, HTTPStatus: 499}, retry1001, want{campaign.OutcomeFailed, "", "HTTP 499", false}},
		{"HTTP 400 with an API body: status decides, code recorded",
			Exchange{Written: true, HTTPStatus: 400, Body: failure}, retry1001,
			want{campaign.OutcomeFailed, "1001", "HTTP 400 Bad Request: code 1001: 失败", false}},
		// Redirects are not followed: a wrong base URL.
		{"HTTP 301", Exchange{Written: true, HTTPStatus: 301}, retry1001, want{campaign.OutcomeFailed, "", "HTTP 301", false}},
		{"HTTP 307", Exchange{Written: true, HTTPStatus: 307}, retry1001, want{campaign.OutcomeFailed, "", "HTTP 307", false}},
		// Request never left → retried.
		{"connection refused", Exchange{Err: refusedError()}, retry1001,
			want{campaign.OutcomeRetry, "", "request not sent: dial tcp: connect: connection refused", true}},
		{"DNS failure", Exchange{Err: dnsError()}, retry1001,
			want{campaign.OutcomeRetry, "", "request not sent: dial tcp: lookup api.invalid: no such host", true}},
		{"TLS handshake failure", Exchange{Err: tlsError()}, retry1001,
			want{campaign.OutcomeRetry, "", "request not sent: tls: failed to verify certificate", true}},
		{"dial timeout", Exchange{Err: wrapped(context.DeadlineExceeded)}, retry1001,
			want{campaign.OutcomeRetry, "", "request not sent: context deadline exceeded", true}},
		{"cancelled before writing", Exchange{Err: wrapped(context.Canceled)}, retry1001,
			want{campaign.OutcomeRetry, "", "request not sent: context canceled", false}},
		{"no response and no error", Exchange{}, retry1001,
			want{campaign.OutcomeRetry, "", "request not sent: no response", true}},
		// HTTP 408/429/502/503/504 → retried. A 429 is the API's answer
		// about this request (a rate limit): not the API as a whole.
		{"HTTP 408", Exchange{Written: true, HTTPStatus: 408}, retry1001, want{campaign.OutcomeRetry, "", "HTTP 408 Request Timeout", true}},
		{"HTTP 429", Exchange{Written: true, HTTPStatus: 429}, retry1001, want{campaign.OutcomeRetry, "", "HTTP 429 Too Many Requests", false}},
		{"HTTP 502 nginx page", Exchange{Written: true, HTTPStatus: 502, Body: []byte(nginx502)}, retry1001,
			want{campaign.OutcomeRetry, "", "HTTP 502 Bad Gateway", true}},
		{"HTTP 503", Exchange{Written: true, HTTPStatus: 503}, retry1001, want{campaign.OutcomeRetry, "", "HTTP 503 Service Unavailable", true}},
		{"HTTP 504", Exchange{Written: true, HTTPStatus: 504}, retry1001, want{campaign.OutcomeRetry, "", "HTTP 504 Gateway Timeout", true}},
		{"HTTP 503 with an API body: the front speaks, not the account",
			Exchange{Written: true, HTTPStatus: 503, Body: []byte(`{"code":"1002","msg":"busy"}`)}, retry1001,
			want{campaign.OutcomeRetry, "1002", "HTTP 503 Service Unavailable: code 1002: busy", true}},
		{"HTTP 429 with an API body", Exchange{Written: true, HTTPStatus: 429, Body: failure}, retry1001,
			want{campaign.OutcomeRetry, "1001", "HTTP 429 Too Many Requests: code 1001: 失败", false}},
		{"HTTP 502 with a cut body", Exchange{Written: true, HTTPStatus: 502, Err: io.ErrUnexpectedEOF}, retry1001,
			want{campaign.OutcomeRetry, "", "HTTP 502 Bad Gateway", true}},
		{"HTTP 502 with an oversize body", Exchange{Written: true, HTTPStatus: 502, Body: []byte("<html>"), Truncated: true}, retry1001,
			want{campaign.OutcomeRetry, "", "HTTP 502 Bad Gateway", true}},
		// Unknowable whether it went out → ambiguous.
		{"timeout after writing", Exchange{Written: true, Err: wrapped(context.DeadlineExceeded)}, retry1001,
			want{campaign.OutcomeAmbiguous, "", "timeout after request was written", true}},
		{"read timeout after writing", Exchange{Written: true, Err: readTimeoutError()}, retry1001,
			want{campaign.OutcomeAmbiguous, "", "timeout after request was written", true}},
		{"cancelled after writing", Exchange{Written: true, Err: wrapped(context.Canceled)}, retry1001,
			want{campaign.OutcomeAmbiguous, "", "cancelled after request was written", false}},
		{"connection closed before the answer", Exchange{Written: true, Err: wrapped(io.EOF)}, retry1001,
			want{campaign.OutcomeAmbiguous, "", "connection lost after request was written: EOF", true}},
		{"connection reset before the answer", Exchange{Written: true, Err: wrapped(&net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)})}, retry1001,
			want{campaign.OutcomeAmbiguous, "", "connection lost after request was written", true}},
		{"connection cut mid-response", Exchange{Written: true, HTTPStatus: 200, Body: success[:40], Err: io.ErrUnexpectedEOF}, retry1001,
			want{campaign.OutcomeAmbiguous, "", "HTTP 200 response cut: unexpected EOF", true}},
		{"timeout mid-response", Exchange{Written: true, HTTPStatus: 200, Body: success[:40], Err: readTimeoutError()}, retry1001,
			want{campaign.OutcomeAmbiguous, "", "timeout reading HTTP 200 response", true}},
		{"unparseable 2xx: HTML", Exchange{Written: true, HTTPStatus: 200, Body: []byte("<html><body>OK</body></html>")}, retry1001,
			want{campaign.OutcomeAmbiguous, "", "unparseable HTTP 200 response: body is not a JSON object", true}},
		{"unparseable 2xx: empty", Exchange{Written: true, HTTPStatus: 200}, retry1001,
			want{campaign.OutcomeAmbiguous, "", "unparseable HTTP 200 response: empty body", true}},
		{"unparseable 2xx: 204", Exchange{Written: true, HTTPStatus: 204}, retry1001,
			want{campaign.OutcomeAmbiguous, "", "unparseable HTTP 204 response: empty body", true}},
		{"unparseable 2xx: truncated JSON", Exchange{Written: true, HTTPStatus: 200, Body: success[:len(success)/2]}, retry1001,
			want{campaign.OutcomeAmbiguous, "", "unparseable HTTP 200 response: body is not a JSON object", true}},
		{"unparseable 2xx: no code", Exchange{Written: true, HTTPStatus: 200, Body: []byte(`{"status":"ok"}`)}, retry1001,
			want{campaign.OutcomeAmbiguous, "", "unparseable HTTP 200 response: no code in response", true}},
		{"oversize 2xx", Exchange{Written: true, HTTPStatus: 200, Body: success[:64], Truncated: true}, retry1001,
			want{campaign.OutcomeAmbiguous, "", "HTTP 200 response larger than 64 bytes", true}},
		// HTTP 500 and other statuses: the server may have acted → ambiguous.
		{"HTTP 500", Exchange{Written: true, HTTPStatus: 500}, retry1001, want{campaign.OutcomeAmbiguous, "", "HTTP 500 Internal Server Error", true}},
		{"HTTP 500 with an API body", Exchange{Written: true, HTTPStatus: 500, Body: []byte(`{"code":"1001","msg":"失败"}`)}, retry1001,
			want{campaign.OutcomeAmbiguous, "1001", "HTTP 500 Internal Server Error: code 1001: 失败", true}},
		{"HTTP 501", Exchange{Written: true, HTTPStatus: 501}, retry1001, want{campaign.OutcomeAmbiguous, "", "HTTP 501", true}},
		{"HTTP 505", Exchange{Written: true, HTTPStatus: 505}, retry1001, want{campaign.OutcomeAmbiguous, "", "HTTP 505", true}},
		{"HTTP 520", Exchange{Written: true, HTTPStatus: 520}, retry1001, want{campaign.OutcomeAmbiguous, "", "HTTP 520", true}},
		{"HTTP 101", Exchange{Written: true, HTTPStatus: 101}, retry1001, want{campaign.OutcomeAmbiguous, "", "HTTP 101", true}},
		{"HTTP 600", Exchange{Written: true, HTTPStatus: 600}, retry1001, want{campaign.OutcomeAmbiguous, "", "HTTP 600", true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := Classify(tt.x, tt.retry)
			if a.Outcome != tt.want.outcome {
				t.Errorf("Outcome = %v, want %v (Error %q)", a.Outcome, tt.want.outcome, a.Error)
			}
			if a.Code != tt.want.code {
				t.Errorf("Code = %q, want %q", a.Code, tt.want.code)
			}
			if !matchesError(a.Error, tt.want.err) {
				t.Errorf("Error = %q, want it to contain %q", a.Error, tt.want.err)
			}
			if a.Transport != tt.want.transport {
				t.Errorf("Transport = %v, want %v", a.Transport, tt.want.transport)
			}
			if a.HTTPStatus != tt.x.HTTPStatus {
				t.Errorf("HTTPStatus = %d, want %d", a.HTTPStatus, tt.x.HTTPStatus)
			}
			if (a.Outcome == campaign.OutcomeSent) != (a.Receipt != nil) {
				t.Errorf("Outcome %v with Receipt %+v", a.Outcome, a.Receipt)
			}
			if strings.Contains(a.Error, "http://") || strings.Contains(a.Error, "https://") {
				t.Errorf("Error %q repeats the URL", a.Error)
			}
		})
	}
}

// matchesError checks Attempt.Error against an expected fragment; a fragment
// naming dial errors ignores the addresses net puts in between.
func matchesError(got, want string) bool {
	if want == "" {
		return got == ""
	}
	if strings.Contains(got, want) {
		return true
	}
	before, after, ok := strings.Cut(want, "dial tcp: ")
	return ok && strings.HasPrefix(got, before+"dial tcp") && strings.Contains(got, after)
}

func TestClassifySentReceipt(t *testing.T) {
	tests := []struct {
		name string
		body []byte
		want *campaign.Receipt
	}{
		{"fixture: ids exact", readFixture(t, "seed-success-response.json"), seedReceipt()},
		{"data null: zero receipt", []byte(`{"code":"1000","message":"ok","data":null}`), &campaign.Receipt{}},
		{"data missing: zero receipt", []byte(`{"code":"1000"}`), &campaign.Receipt{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := Classify(Exchange{Written: true, HTTPStatus: 200, Body: tt.body}, nil)
			if a.Outcome != campaign.OutcomeSent || a.Error != "" {
				t.Fatalf("Outcome = %v, Error = %q; want sent", a.Outcome, a.Error)
			}
			assertReceipt(t, a.Receipt, tt.want)
			if a.Response != string(tt.body) {
				t.Errorf("Response = %q, want the body verbatim", a.Response)
			}
		})
	}
}

// TestClassifyUsesTypedErrors checks that the decision survives wrapping and
// does not depend on wording: an error whose text says "timeout" is not a
// timeout, and a real timeout wrapped twice still is.
func TestClassifyUsesTypedErrors(t *testing.T) {
	misleading := errors.New("i/o timeout (connection refused)")
	a := Classify(Exchange{Written: true, Err: misleading}, nil)
	if a.Outcome != campaign.OutcomeAmbiguous || !strings.HasPrefix(a.Error, "connection lost after request was written") {
		t.Errorf("misleading text: %v %q", a.Outcome, a.Error)
	}
	deep := fmt.Errorf("send applet: %w", fmt.Errorf("layer: %w", readTimeoutError()))
	a = Classify(Exchange{Written: true, Err: deep}, nil)
	if a.Outcome != campaign.OutcomeAmbiguous || a.Error != "timeout after request was written" {
		t.Errorf("wrapped timeout: %v %q", a.Outcome, a.Error)
	}
}

func TestClassifyResponseIsStorable(t *testing.T) {
	body := []byte("{\"code\":\"1002\",\"message\":\"bad\x00\xff\"}")
	a := Classify(Exchange{Written: true, HTTPStatus: 200, Body: body}, nil)
	if strings.ContainsRune(a.Response, 0) || strings.ContainsRune(a.Error, 0) {
		t.Errorf("NUL kept: Response %q, Error %q", a.Response, a.Error)
	}
	if !strings.Contains(a.Response, "\uFFFD") {
		t.Errorf("Response %q: invalid byte not replaced", a.Response)
	}
}
