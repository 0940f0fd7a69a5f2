package kad

import (
	"context"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/anacrolix/dht/v2/krpc"
)

// Endpoint is where an operator says a node is: a host (an IP literal
// or a name) and port and, when known, the node's ID. It is what
// --seed and "kadnode add" take, spelt ID@host:port; the routing table's
// entry is Contact.
type Endpoint struct {
	ID    krpc.ID
	HasID bool
	Host  string // as given: an IP literal or a host name
	Port  uint16
}

// Examples shown in contact and ID errors; documentation addresses (RFC
// 5737, RFC 3849) so that a pasted example reaches nobody.
const (
	exampleID      = "1f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c"
	contactForms   = "want ID@host:port or host:port, e.g. " + exampleID + "@192.0.2.1:4114, [2001:db8::1]:4114 or seed.example.org:4114"
	idForm         = "want 40 hex digits, e.g. " + exampleID
	maxHostNameLen = 253 // DNS limit on a full name
	maxLabelLen    = 63  // DNS limit on one label
)

// ParseID parses a node ID written as 40 hex digits (either case).
func ParseID(s string) (krpc.ID, error) {
	id, problem := decodeID(s)
	if problem != "" {
		return krpc.ID{}, fmt.Errorf("bad node ID %q: it %s; %s", s, problem, idForm)
	}
	return id, nil
}

// decodeID decodes 40 hex digits, or says what is wrong with s.
func decodeID(s string) (krpc.ID, string) {
	var id krpc.ID
	if len(s) != hex.EncodedLen(len(id)) {
		return id, fmt.Sprintf("has %d characters, not %d", len(s), hex.EncodedLen(len(id)))
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return krpc.ID{}, "is not hexadecimal"
	}
	return id, ""
}

// ParseEndpoint parses "ID@host:port" or "host:port", where ID is 40 hex
// digits and host is an IPv4 address, a bracketed IPv6 address or a host
// name. Surrounding white space is ignored.
func ParseEndpoint(s string) (Endpoint, error) {
	in := s
	s = strings.TrimSpace(s)
	bad := func(what string) (Endpoint, error) {
		return Endpoint{}, fmt.Errorf("bad contact %q: %s; %s", in, what, contactForms)
	}
	if s == "" {
		return bad("it is empty")
	}
	var c Endpoint
	if idPart, addr, ok := strings.Cut(s, "@"); ok {
		id, problem := decodeID(idPart)
		if problem != "" {
			return bad("the node ID before '@' " + problem)
		}
		c.ID, c.HasID, s = id, true, addr
	}
	host, portStr, err := net.SplitHostPort(s)
	if err != nil {
		return bad(splitHostPortProblem(s))
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil || port == 0 {
		return bad(fmt.Sprintf("port %q is not a number from 1 to 65535", portStr))
	}
	if problem := checkHost(host, strings.HasPrefix(s, "[")); problem != "" {
		return bad(problem)
	}
	c.Host, c.Port = host, uint16(port)
	return c, nil
}

// splitHostPortProblem explains why s is not host:port in the user's terms.
func splitHostPortProblem(s string) string {
	i := strings.LastIndexByte(s, ':')
	if i < 0 || strings.HasSuffix(s, "]") {
		return "it has no port"
	}
	if addr, err := netip.ParseAddr(s[:i]); err == nil && addr.Is6() {
		return "an IPv6 address needs brackets, as in [2001:db8::1]:4114"
	}
	return fmt.Sprintf("%q is not host:port", s)
}

// checkHost returns what is wrong with a host, or "" if it is an IP
// literal or a plausible host name.
func checkHost(host string, bracketed bool) string {
	if host == "" {
		return "the host is empty"
	}
	addr, err := netip.ParseAddr(host)
	if bracketed {
		if err != nil || !addr.Is6() || addr.Is4In6() {
			return fmt.Sprintf("%q in brackets is not an IPv6 address", host)
		}
		return ""
	}
	if err == nil {
		return ""
	}
	if strings.Trim(host, "0123456789.") == "" {
		return fmt.Sprintf("%q is not a valid IPv4 address", host)
	}
	if len(host) > maxHostNameLen {
		return fmt.Sprintf("host name is %d characters, over the DNS limit of %d", len(host), maxHostNameLen)
	}
	for _, label := range strings.Split(strings.TrimSuffix(host, "."), ".") {
		if label == "" || len(label) > maxLabelLen {
			return fmt.Sprintf("host name %q has an empty or over-long (>%d) label", host, maxLabelLen)
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return fmt.Sprintf("host name %q has the character %q; use letters, digits, '-' and '.'", host, r)
			}
		}
	}
	return ""
}

// String formats c so that ParseEndpoint reads it back.
func (c Endpoint) String() string {
	hp := net.JoinHostPort(c.Host, strconv.Itoa(int(c.Port)))
	if c.HasID {
		return c.ID.String() + "@" + hp
	}
	return hp
}

// EndpointOf is the contact of a known node at an authenticated address.
func EndpointOf(id krpc.ID, addr netip.AddrPort) Endpoint {
	addr = UnmapAddrPort(addr)
	return Endpoint{ID: id, HasID: true, Host: addr.Addr().String(), Port: addr.Port()}
}

// EndpointString formats a known node as "ID@host:port".
func EndpointString(id krpc.ID, addr netip.AddrPort) string {
	return id.String() + "@" + UnmapAddrPort(addr).String()
}

// Resolve returns the UDP address to reach c. An IP literal is used as is;
// a host name is looked up with the system resolver, taking its first IPv4
// address if it has one (most nodes listen on IPv4) and its first IPv6
// address otherwise.
func (c Endpoint) Resolve(ctx context.Context) (netip.AddrPort, error) {
	if addr, err := netip.ParseAddr(c.Host); err == nil {
		return netip.AddrPortFrom(addr.Unmap(), c.Port), nil
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", c.Host)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("resolving %q of contact %s: %w; check the name, or give an IP address", c.Host, c, err)
	}
	if len(addrs) == 0 {
		return netip.AddrPort{}, fmt.Errorf("resolving %q of contact %s: no addresses; check the name, or give an IP address", c.Host, c)
	}
	best := addrs[0]
	for _, a := range addrs {
		if a.Unmap().Is4() {
			best = a
			break
		}
	}
	return netip.AddrPortFrom(best.Unmap(), c.Port), nil
}

// UnmapAddrPort turns an IPv4-mapped IPv6 address (as a dual-stack socket
// reports IPv4 peers) into its IPv4 form, so that one peer has one address.
func UnmapAddrPort(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}
