package sender

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// MaxImageBytes is the provider's limit on a cover image ("50KB以内的png/jpg",
// read as 50 KiB): a larger one may be refused or shown without its cover.
const MaxImageBytes = 50 << 10

// What a probe can find; every error ProbeImage, ProbeAPI and
// ImageInfo.Problems return wraps one of these, so callers decide with
// errors.Is.
var (
	// ErrImageFetch: the cover image could not be had (no answer, a
	// non-2xx status, a body cut short).
	ErrImageFetch = errors.New("cover image cannot be fetched")
	// ErrImageFormat: the cover image is not png or jpeg, by its
	// Content-Type or by its bytes.
	ErrImageFormat = errors.New("cover image is not png or jpeg")
	// ErrImageTooLarge: the cover image is over MaxImageBytes.
	ErrImageTooLarge = errors.New("cover image is larger than 50 KB")
	// ErrAPIUnreachable: nothing answers at the API base URL.
	ErrAPIUnreachable = errors.New("API base URL does not answer")
)

// ImageInfo is what a cover image URL serves, as far as the provider's
// requirements go. `broadcaster check --network` reports it; sending never
// fetches images.
type ImageInfo struct {
	// URL is the URL fetched (before redirects).
	URL string
	// Status is the HTTP status of the final answer.
	Status int
	// ContentType is the media type of the Content-Type header, lower
	// case and without parameters; "" when the server sends none.
	ContentType string
	// Format is what the first bytes are: "png", "jpeg", or else the media
	// type net/http sniffs ("image/webp", "text/html; charset=utf-8", …).
	Format string
	// Size is the image's size in bytes when known: the bytes read when
	// the body ended within the limit, else the declared Content-Length;
	// 0 when neither (then TooLarge is set).
	Size int64
	// TooLarge reports a body over MaxImageBytes. Reading stops there, so
	// an endless or huge answer costs nothing more.
	TooLarge bool
}

// Problems lists what makes the image unfit for the provider, each wrapping
// ErrImageFormat or ErrImageTooLarge; none when it is a png or jpeg within
// MaxImageBytes, by both its Content-Type and its bytes.
func (i ImageInfo) Problems() []error {
	var out []error
	typeOK := i.ContentType == "image/png" || i.ContentType == "image/jpeg" || i.ContentType == "image/jpg"
	bytesOK := i.Format == "png" || i.Format == "jpeg"
	if !typeOK || !bytesOK {
		ct := i.ContentType
		if ct == "" {
			ct = "none"
		}
		out = append(out, fmt.Errorf("%w: Content-Type %s, content %s", ErrImageFormat, ct, i.Format))
	}
	switch {
	case !i.TooLarge:
	case i.Size > 0:
		out = append(out, fmt.Errorf("%w: %d bytes, more than %d", ErrImageTooLarge, i.Size, MaxImageBytes))
	default:
		out = append(out, fmt.Errorf("%w: more than %d bytes", ErrImageTooLarge, MaxImageBytes))
	}
	return out
}

// sniffBytes is how much of an image is kept to tell its format; net/http
// sniffs from at most 512 bytes.
const sniffBytes = 512

// ProbeImage fetches a cover image with GET, following redirects as client
// does (NewImageProbeClient's refuses non-public addresses), and reports its
// type and size. It reads at most MaxImageBytes+1 bytes of the body, and none
// when Content-Length already says too large. An error (wrapping
// ErrImageFetch) means there is no image to judge: no answer, a refused
// address (also wrapping ErrNotPublic), a non-2xx status, or a body cut
// short; the info then holds what was learnt, such as the status.
func ProbeImage(ctx context.Context, client *http.Client, url string) (ImageInfo, error) {
	info := ImageInfo{URL: url}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return info, fmt.Errorf("%w: %w", ErrImageFetch, err)
	}
	req.Header.Set("Accept", "image/png, image/jpeg;q=0.9, */*;q=0.1")
	req.Header.Set("User-Agent", "broadcaster-check")
	resp, err := client.Do(req)
	var refused notPublicError
	if errors.As(err, &refused) {
		// Just the address: the dial error around it adds nothing.
		return info, fmt.Errorf("%w: %w", ErrImageFetch, refused)
	}
	if err != nil {
		return info, fmt.Errorf("%w: %w", ErrImageFetch, err)
	}
	defer resp.Body.Close()
	info.Status = resp.StatusCode
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return info, fmt.Errorf("%w: HTTP %s", ErrImageFetch, resp.Status)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil {
			mt = strings.ToLower(strings.TrimSpace(ct))
		}
		info.ContentType = mt
	}
	limit := int64(MaxImageBytes)
	if resp.ContentLength > MaxImageBytes {
		// Declared too large: only the head is needed, to name the format.
		info.TooLarge, info.Size, limit = true, resp.ContentLength, sniffBytes
	}
	body, truncated, err := readBounded(resp.Body, limit)
	if err != nil {
		return info, fmt.Errorf("%w: reading the body: %w", ErrImageFetch, err)
	}
	if !info.TooLarge {
		info.TooLarge, info.Size = truncated, int64(len(body))
		if truncated {
			info.Size = 0 // no Content-Length, and not read to the end
		}
	}
	info.Format = imageFormat(body)
	return info, nil
}

// imageFormat names the format of an image from its first bytes.
func imageFormat(head []byte) string {
	switch {
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		return "png"
	case bytes.HasPrefix(head, []byte("\xff\xd8\xff")):
		return "jpeg"
	case len(head) == 0:
		return "empty"
	}
	return http.DetectContentType(head[:min(len(head), sniffBytes)])
}

// ImageResult is the outcome of probing one URL.
type ImageResult struct {
	Info ImageInfo
	Err  error // from ProbeImage: the image could not be fetched
}

// ProbeImages probes each distinct URL once, at most concurrency at a time,
// and returns the results by URL. Campaigns often share a cover, and image
// hosts throttle bursts.
func ProbeImages(ctx context.Context, client *http.Client, urls []string, concurrency int) map[string]ImageResult {
	var distinct []string
	seen := make(map[string]bool, len(urls))
	for _, u := range urls {
		if !seen[u] {
			seen[u] = true
			distinct = append(distinct, u)
		}
	}
	out := make(map[string]ImageResult, len(distinct))
	var (
		mu  sync.Mutex
		wg  sync.WaitGroup
		sem = make(chan struct{}, max(concurrency, 1))
	)
	for _, u := range distinct {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			info, err := ProbeImage(ctx, client, u)
			mu.Lock()
			out[u] = ImageResult{Info: info, Err: err}
			mu.Unlock()
		})
	}
	wg.Wait()
	return out
}

// ProbeAPI checks that something answers HTTP at the API base URL: any
// status counts, since the point is to catch a wrong host, port or scheme
// before a run. It sends a GET to the base URL itself, without the token,
// never a sendApplet request, and does not follow redirects. The error
// wraps ErrAPIUnreachable.
func ProbeAPI(ctx context.Context, client *http.Client, baseURL string) (status int, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSpace(baseURL), nil)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrAPIUnreachable, err)
	}
	req.Header.Set("User-Agent", "broadcaster-check")
	noRedirect := *client
	noRedirect.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := noRedirect.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrAPIUnreachable, err)
	}
	defer resp.Body.Close()
	// A little of the body, so the connection may be reused; the rest is
	// of no interest.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	return resp.StatusCode, nil
}

// NewImageProbeClient returns the HTTP client ProbeImage and ProbeImages
// fetch cover images with: NewProbeClient's, refusing every address that is
// not public (ErrNotPublic) unless allowPrivate. The address is checked when
// connecting, after DNS resolution, on the first request and on every
// redirect; proxies are not used then, since a proxy would connect on
// broadcaster's behalf, unchecked.
func NewImageProbeClient(timeout time.Duration, allowPrivate bool) *http.Client {
	if allowPrivate {
		return NewProbeClient(timeout)
	}
	return newPublicOnlyClient(timeout, isPublicAddrPort)
}

// maxRedirects is how many redirects an image probe follows, as net/http
// does by default.
const maxRedirects = 10

// newPublicOnlyClient is NewImageProbeClient's refusing client, with the
// policy as a parameter so that tests can let a loopback server stand in for
// a public host.
func newPublicOnlyClient(timeout time.Duration, public func(netip.AddrPort) bool) *http.Client {
	c := NewProbeClient(timeout)
	t := c.Transport.(*http.Transport)
	t.Proxy = nil
	t.DialContext = (&net.Dialer{
		Timeout:   min(c.Timeout, maxStageTimeout),
		KeepAlive: tcpKeepAlive,
		Control:   refuseNonPublic(public),
	}).DialContext
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= maxRedirects {
			return fmt.Errorf("stopped after %d redirects", maxRedirects)
		}
		// An address in the URL is refused at once; a name is judged
		// when connecting, by the dialer above.
		if ip, err := netip.ParseAddr(req.URL.Hostname()); err == nil && !public(netip.AddrPortFrom(ip, urlPort(req.URL))) {
			return notPublicError{ip.Unmap().WithZone("")}
		}
		return nil
	}
	return c
}

// urlPort is the port a URL connects to: its own, or its scheme's.
func urlPort(u *url.URL) uint16 {
	if p, err := strconv.ParseUint(u.Port(), 10, 16); err == nil {
		return uint16(p)
	}
	if u.Scheme == "https" {
		return 443
	}
	return 80
}

// NewProbeClient returns an HTTP client for probes: every request bounded by
// timeout (dialling and the TLS handshake by at most 10 s of it), proxies
// from the environment as for sending, redirects followed (image hosts and
// CDNs redirect).
func NewProbeClient(timeout time.Duration) *http.Client {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	stage := min(timeout, maxStageTimeout)
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: stage, KeepAlive: tcpKeepAlive}).DialContext,
			TLSHandshakeTimeout:   stage,
			ResponseHeaderTimeout: timeout,
			IdleConnTimeout:       idleConnTimeout,
			MaxIdleConnsPerHost:   4,
		},
	}
}
