package sender

import (
	"net"
	"net/http"
	"time"
)

const (
	// maxStageTimeout bounds dialling and the TLS handshake on their own, so
	// that an unreachable provider is reported (and retried) quickly even
	// when the overall timeout is long.
	maxStageTimeout = 10 * time.Second
	// idleConnTimeout drops pooled connections before common servers drop
	// them (Node.js closes idle keep-alive connections after 5 s, nginx
	// after 75 s). A POST written on a connection the server is closing
	// at that instant cannot be retried safely: it becomes ambiguous.
	idleConnTimeout = 4 * time.Second
	// tcpKeepAlive probes long-lived connections so a dead peer is noticed.
	tcpKeepAlive = 30 * time.Second
)

// newHTTPClient builds the client's own http.Client rather than sharing
// http.DefaultClient: its pool is sized to the worker pool, every stage has
// a timeout, and redirects are not followed — following one would repeat a
// non-idempotent POST somewhere else, or turn it into a GET.
//
// The transport speaks HTTP/1.1 only (a custom dialer without
// ForceAttemptHTTP2): one request per connection makes MaxConnsPerHost a
// true bound on the requests in flight. Proxies from the environment
// (HTTPS_PROXY, NO_PROXY) are honoured, as operators expect.
func newHTTPClient(timeout time.Duration, maxConns int) *http.Client {
	stage := min(timeout, maxStageTimeout)
	dialer := &net.Dialer{Timeout: stage, KeepAlive: tcpKeepAlive}
	transport := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		TLSHandshakeTimeout:   stage,
		ResponseHeaderTimeout: timeout,
		IdleConnTimeout:       idleConnTimeout,
		MaxIdleConns:          maxConns,
		MaxIdleConnsPerHost:   maxConns,
		MaxConnsPerHost:       maxConns,
	}
	return &http.Client{
		Transport: transport,
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}
