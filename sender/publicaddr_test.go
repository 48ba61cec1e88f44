package sender

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestIsPublic(t *testing.T) {
	refused := []string{
		"127.0.0.1", "127.8.9.10", "::1", // loopback
		"10.0.0.1", "10.255.255.255", "172.16.0.1", "172.31.255.254", "192.168.1.1", // private
		"fc00::1", "fd12:3456::1", // unique local, fc00::/7
		"169.254.169.254", "169.254.0.1", "fe80::1", "fe80::1%eth0", "febf::1", // link-local
		"0.0.0.0", "0.1.2.3", "::", // unspecified, "this network"
		"::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "::ffff:0.0.0.0", // IPv4-mapped
		"::127.0.0.1",                           // IPv4-compatible
		"64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", // NAT64 of loopback, of the metadata service
		"2002:7f00:1::1", "2002:c0a8:101::1", // 6to4 of loopback, of 192.168.1.1
		"100.64.0.1", "198.18.0.1", "192.0.2.1", "240.0.0.1", "255.255.255.255",
		"224.0.0.1", "ff02::1", "fec0::1", "2001:db8::1",
	}
	public := []string{
		"8.8.8.8", "1.1.1.1", "172.32.0.1", "192.169.0.1", "169.253.255.255", "100.128.0.1",
		"2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1",
	}
	for _, s := range refused {
		if isPublic(netip.MustParseAddr(s)) {
			t.Errorf("%s counted as public", s)
		}
	}
	for _, s := range public {
		if !isPublic(netip.MustParseAddr(s)) {
			t.Errorf("%s counted as not public", s)
		}
	}
}

// loopbackOnly wraps the production policy for tests: an address it would
// let through that is not loopback fails the test and is refused anyway, so
// that a bug in the policy never sends traffic off this machine.
func loopbackOnly(t *testing.T, pretend ...netip.AddrPort) func(netip.AddrPort) bool {
	t.Helper()
	return func(ap netip.AddrPort) bool {
		for _, p := range pretend {
			if ap == p {
				return true
			}
		}
		if !isPublicAddrPort(ap) {
			return false
		}
		if !ap.Addr().IsLoopback() {
			t.Errorf("the policy would connect to %s", ap)
		}
		return false
	}
}

func TestImageProbeRefusesNonPublicAddresses(t *testing.T) {
	t.Parallel()
	client := newPublicOnlyClient(5*time.Second, loopbackOnly(t))
	for _, u := range []string{
		"http://169.254.169.254/latest/meta-data/",
		"http://10.1.2.3/c.png", "http://172.16.5.4/c.png", "http://192.168.0.1/c.png",
		"http://[::1]/c.png", "http://[fc00::1]/c.png", "http://[fd00::1]:8080/c.png", "http://[fe80::1%25lo]/c.png",
		"http://0.0.0.0/c.png", "https://[::ffff:127.0.0.1]/c.png", "http://[::ffff:a9fe:a9fe]/c.png",
		"http://localhost/c.png", // a name, refused once resolved
	} {
		t.Run(u, func(t *testing.T) {
			t.Parallel()
			_, err := ProbeImage(context.Background(), client, u)
			if !errors.Is(err, ErrImageFetch) || !errors.Is(err, ErrNotPublic) {
				t.Fatalf("error = %v, want ErrImageFetch and ErrNotPublic", err)
			}
		})
	}
}

// TestImageProbeLoopbackOptIn: a cover on loopback is refused by default,
// without a request reaching it, and fetched when private addresses are
// allowed.
func TestImageProbeLoopbackOptIn(t *testing.T) {
	t.Parallel()
	var hits atomic.Int64
	base := imageServer(t)
	counted := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Redirect(w, r, base+"/cover.png", http.StatusFound)
	}))
	_, err := ProbeImage(context.Background(), NewImageProbeClient(5*time.Second, false), counted+"/c.png")
	if !errors.Is(err, ErrNotPublic) || hits.Load() != 0 {
		t.Errorf("by default: error %v after %d requests; want ErrNotPublic before any", err, hits.Load())
	}
	info, err := ProbeImage(context.Background(), NewImageProbeClient(5*time.Second, true), counted+"/c.png")
	if err != nil || info.Format != "png" || hits.Load() != 1 {
		t.Errorf("allowed: %+v, %v after %d requests; want the png", info, err, hits.Load())
	}
}

// TestImageProbeRefusesRedirectsToNonPublic: a public host that redirects to
// an internal address, given as an address or as a name, is refused at the
// redirect, and the internal server never sees a request.
func TestImageProbeRefusesRedirectsToNonPublic(t *testing.T) {
	t.Parallel()
	var internalHits atomic.Int64
	internal := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		internalHits.Add(1)
		http.NotFound(w, r)
	}))
	internalURL, err := url.Parse(internal)
	if err != nil {
		t.Fatal(err)
	}
	byName := "http://localhost:" + internalURL.Port()
	good := imageServer(t)
	public := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		to := map[string]string{"/by-address": internal + "/x.png", "/by-name": byName + "/x.png", "/fine": good + "/cover.png"}[r.URL.Path]
		http.Redirect(w, r, to, http.StatusFound)
	}))
	// The "public" server and the good image host stand in for public hosts.
	client := newPublicOnlyClient(5*time.Second, loopbackOnly(t, addrPort(t, public), addrPort(t, good)))

	if info, err := ProbeImage(context.Background(), client, public+"/fine"); err != nil || info.Format != "png" {
		t.Fatalf("redirect between public hosts: %+v, %v; the test's stand-ins do not work", info, err)
	}
	for _, path := range []string{"/by-address", "/by-name"} {
		_, err := ProbeImage(context.Background(), client, public+path)
		if !errors.Is(err, ErrNotPublic) {
			t.Errorf("%s: error %v, want ErrNotPublic", path, err)
		}
	}
	if n := internalHits.Load(); n != 0 {
		t.Errorf("the internal server saw %d requests", n)
	}
}

// TestImageProbeErrorsDoNotRevealPorts: on a refused address, an open port
// and a closed one give the same error.
func TestImageProbeErrorsDoNotRevealPorts(t *testing.T) {
	t.Parallel()
	open := imageServer(t)
	closed := refusedURL(t)
	client := NewImageProbeClient(5*time.Second, false)
	_, errOpen := ProbeImage(context.Background(), client, open+"/cover.png")
	_, errClosed := ProbeImage(context.Background(), client, closed+"/cover.png")
	if errOpen == nil || errClosed == nil || errOpen.Error() != errClosed.Error() {
		t.Errorf("open port: %v\nclosed port: %v\nwant the same error", errOpen, errClosed)
	}
	for _, err := range []error{errOpen, errClosed} {
		if err != nil && (strings.Contains(err.Error(), "refused") || strings.Contains(err.Error(), portOf(t, open))) {
			t.Errorf("error %q says more than the address", err)
		}
	}
}

// addrPort is the address and port a test server's URL names.
func addrPort(t *testing.T, base string) netip.AddrPort {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	return netip.MustParseAddrPort(u.Host)
}

func portOf(t *testing.T, base string) string {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	return u.Port()
}
