package sender

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/broadcaster/broadcaster/campaign"
)

// Defaults for zero Options fields.
const (
	// DefaultTimeout is also api.timeout's default (SPEC §8).
	DefaultTimeout = 15 * time.Second
	// DefaultMaxConns is one connection per worker of the default
	// workers.concurrency.
	DefaultMaxConns = campaign.DefaultConcurrency
	// DefaultMaxResponseBytes bounds a response kept whole.
	DefaultMaxResponseBytes = 64 << 10
	// MaxMaxResponseBytes bounds Options.MaxResponseBytes: a response is
	// kept whole in memory and in delivery_attempts.response.
	MaxMaxResponseBytes = 16 << 20
)

// DefaultRetryCodes are the API codes retried when Options.RetryCodes is nil,
// and retry.codes' default (SPEC §8): CodeFailed, which may be transient.
func DefaultRetryCodes() []string { return []string{CodeFailed} }

// Options configure a Client. Zero values take the defaults above.
type Options struct {
	// BaseURL is the provider's API root, e.g. "http://api.example.com" or
	// "https://host/prefix"; the client posts to BaseURL + "/sendApplet".
	BaseURL string
	// Token is sent verbatim as the Authorization header (no "Bearer").
	Token string
	// Timeout bounds one whole call, from dialling to the last body byte.
	Timeout time.Duration
	// MaxConns sizes the connection pool; set it to the worker count so
	// that every worker keeps a warm connection and no more are opened.
	MaxConns int
	// RetryCodes are the API codes that mean "retry later". nil means
	// DefaultRetryCodes; an empty non-nil slice retries no code.
	RetryCodes []string
	// MaxResponseBytes bounds how much of a response body is read and kept.
	MaxResponseBytes int64
}

// Client sends applet messages through the provider's sendApplet call. It is
// safe for concurrent use by the whole worker pool; its connection pool is
// sized by Options.MaxConns.
type Client struct {
	http       *http.Client
	endpoint   string
	token      string
	retryCodes map[string]bool
	maxBody    int64
}

var _ campaign.Sender = (*Client)(nil)

// New validates the options and builds a Client. Errors name the bad option
// and never contain the token.
func New(o Options) (*Client, error) {
	endpoint, err := endpointURL(o.BaseURL)
	if err != nil {
		return nil, err
	}
	if err := checkToken(o.Token); err != nil {
		return nil, err
	}
	o, err = withDefaults(o)
	if err != nil {
		return nil, err
	}
	codes, err := retryCodeSet(o.RetryCodes)
	if err != nil {
		return nil, err
	}
	return &Client{
		http:       newHTTPClient(o.Timeout, o.MaxConns),
		endpoint:   endpoint,
		token:      o.Token,
		retryCodes: codes,
		maxBody:    o.MaxResponseBytes,
	}, nil
}

// endpointURL checks that base is an absolute http(s) URL and returns the
// sendApplet URL under it.
func endpointURL(base string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(base))
	if err != nil {
		return "", fmt.Errorf("sender: base URL: %w", err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Errorf("sender: base URL %q: must be an absolute http or https URL", u.Redacted())
	case u.Host == "":
		return "", fmt.Errorf("sender: base URL %q: no host", u.Redacted())
	case u.User != nil:
		return "", fmt.Errorf("sender: base URL %q: must not contain credentials; use the token", u.Redacted())
	case u.RawQuery != "" || u.Fragment != "":
		return "", fmt.Errorf("sender: base URL %q: must not have a query or fragment", u.Redacted())
	}
	return u.JoinPath("sendApplet").String(), nil
}

// checkToken refuses tokens that cannot be sent as a header value. The error
// does not quote the token.
func checkToken(token string) error {
	for i := 0; i < len(token); i++ {
		if c := token[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return errors.New("sender: token contains control characters")
		}
	}
	return nil
}

// withDefaults fills zero fields and refuses negative ones.
func withDefaults(o Options) (Options, error) {
	switch {
	case o.Timeout < 0:
		return o, fmt.Errorf("sender: timeout %v is negative", o.Timeout)
	case o.MaxConns < 0:
		return o, fmt.Errorf("sender: max conns %d is negative", o.MaxConns)
	case o.MaxResponseBytes < 0 || o.MaxResponseBytes > MaxMaxResponseBytes:
		return o, fmt.Errorf("sender: max response bytes %d is not within 0..%d", o.MaxResponseBytes, MaxMaxResponseBytes)
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxConns == 0 {
		o.MaxConns = DefaultMaxConns
	}
	if o.MaxResponseBytes == 0 {
		o.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if o.RetryCodes == nil {
		o.RetryCodes = DefaultRetryCodes()
	}
	return o, nil
}

// retryCodeSet turns the configured codes into a set. 1000 cannot be a retry
// code: it means the message went out.
func retryCodeSet(codes []string) (map[string]bool, error) {
	set := make(map[string]bool, len(codes))
	for _, c := range codes {
		c = strings.TrimSpace(c)
		switch c {
		case "":
			return nil, errors.New("sender: empty retry code")
		case CodeSent:
			return nil, fmt.Errorf("sender: retry code %s means sent", CodeSent)
		}
		set[c] = true
	}
	return set, nil
}

// Send makes one sendApplet call and reports how it ended. It never returns
// an error: a message that cannot be sent as it stands (an empty field) is
// a Failed attempt, and everything else is classified by Classify. The
// token is scrubbed from every field of the result.
func (c *Client) Send(ctx context.Context, m campaign.Message) campaign.Attempt {
	start := time.Now()
	var a campaign.Attempt
	if err := checkMessage(m); err != nil {
		a = campaign.Attempt{Outcome: campaign.OutcomeFailed, Error: "invalid message: " + err.Error()}
	} else {
		a = Classify(c.exchange(ctx, m), c.retryCodes)
	}
	a.StartedAt = start
	a.Duration = time.Since(start)
	c.redact(&a)
	return a
}

// CloseIdleConnections closes the pool's idle keep-alive connections, for a
// clean exit after the workers have stopped.
func (c *Client) CloseIdleConnections() { c.http.CloseIdleConnections() }

// exchange performs the HTTP call and gathers the facts Classify needs.
func (c *Client) exchange(ctx context.Context, m campaign.Message) Exchange {
	body, err := encodeMessage(m)
	if err != nil {
		return Exchange{Err: err}
	}
	var written atomic.Bool
	trace := &httptrace.ClientTrace{
		WroteRequest: func(info httptrace.WroteRequestInfo) {
			if info.Err == nil {
				written.Store(true)
			}
		},
	}
	ctx = httptrace.WithClientTrace(ctx, trace)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return Exchange{Err: fmt.Errorf("send applet: %w", err)}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		return Exchange{Written: written.Load(), Err: fmt.Errorf("send applet: %w", err)}
	}
	defer resp.Body.Close()
	raw, truncated, err := readBounded(resp.Body, c.maxBody)
	return Exchange{
		Written:    true,
		HTTPStatus: resp.StatusCode,
		Body:       raw,
		Truncated:  truncated,
		Err:        err,
	}
}

// redact removes the token, raw or JSON-escaped, from everything the attempt
// reports, in case a proxy or the provider echoes request headers into an
// error. The response stays within the size limit.
func (c *Client) redact(a *campaign.Attempt) {
	if c.token == "" {
		return
	}
	scrub := func(s string) string { return redactToken(s, c.token) }
	a.Code = scrub(a.Code)
	a.Error = scrub(a.Error)
	a.Response = cutText(scrub(a.Response), int(c.maxBody))
	if a.Receipt != nil {
		a.Receipt.WcID = scrub(a.Receipt.WcID)
		for name, text := range a.Receipt.Overflow {
			a.Receipt.Overflow[name] = scrub(text)
		}
	}
}
