package sender

import (
	"errors"
	"fmt"
	"net/netip"
	"syscall"
)

// ErrNotPublic reports an address `check --network` refuses to fetch a cover
// image from: loopback, private, link-local (169.254.169.254 is the cloud
// metadata service), or otherwise not on the public internet. A template's
// img_url is operator data, and fetching it must not become a way to probe
// the network broadcaster runs in.
var ErrNotPublic = errors.New("not a public address")

// notPublicError names the refused address. It never says more than the
// address: the connection was not attempted, so nothing about the port is
// known, and the message is the same whether something listens there or not.
type notPublicError struct{ addr netip.Addr }

func (e notPublicError) Error() string {
	return fmt.Sprintf("%s is %s, and private addresses are not allowed", e.addr, ErrNotPublic)
}

func (e notPublicError) Is(target error) bool { return target == ErrNotPublic }

// refuseNonPublic is a net.Dialer Control function: it runs for every address
// the dialer is about to connect to, after DNS resolution and before the
// connection is attempted, so neither a name that resolves to an internal
// address (DNS rebinding included) nor a redirect can bypass it.
func refuseNonPublic(public func(netip.AddrPort) bool) func(network, address string, _ syscall.RawConn) error {
	return func(_, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("%w: cannot judge %q", ErrNotPublic, address)
		}
		if !public(ap) {
			return notPublicError{ap.Addr().Unmap().WithZone("")}
		}
		return nil
	}
}

// isPublicAddrPort is the production policy: the port plays no part.
func isPublicAddrPort(ap netip.AddrPort) bool { return isPublic(ap.Addr()) }

// nonPublic are the special-purpose blocks (IANA's registries) that are not
// on the public internet, beyond what netip classifies itself (loopback,
// private, link-local, multicast, unspecified).
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // carrier-grade NAT
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // documentation
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, and broadcast
	netip.MustParsePrefix("::/96"),           // IPv4-compatible (deprecated)
	netip.MustParsePrefix("64:ff9b:1::/48"),  // local-use NAT64
	netip.MustParsePrefix("100::/64"),        // discard-only
	netip.MustParsePrefix("2001::/32"),       // Teredo
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("fec0::/10"),       // site-local (deprecated)
}

// Prefixes whose addresses carry an IPv4 address, judged in turn.
var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
)

// isPublic reports whether a is an address on the public internet. IPv4
// addresses written as IPv6 (mapped, NAT64, 6to4) are judged by the IPv4
// address they stand for.
func isPublic(a netip.Addr) bool {
	a = a.Unmap().WithZone("")
	if !a.IsValid() || a.IsLoopback() || a.IsPrivate() || a.IsUnspecified() ||
		a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() || a.IsInterfaceLocalMulticast() || a.IsMulticast() {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(a) {
			return false
		}
	}
	b := a.As16()
	switch {
	case nat64.Contains(a):
		return isPublic(netip.AddrFrom4([4]byte(b[12:16])))
	case sixToFour.Contains(a):
		return isPublic(netip.AddrFrom4([4]byte(b[2:6])))
	}
	return true
}
