// Package natlab builds real Linux NAT topologies for tests: network
// namespaces on a bridge (the public side), routers as namespaces with a
// WAN and a LAN interface doing MASQUERADE (cone) or MASQUERADE
// --random-fully (symmetric), and hosts behind them. kadnode runs in them
// as real processes through `ip netns exec`.
//
// It needs root, ip(8) and iptables(8); New skips the test otherwise.
package natlab

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/kadnode/kadnode/testnet/netns"
)

// NAT is how a router maps and filters.
type NAT int

const (
	// Cone is Linux MASQUERADE: the source port is kept where it can be
	// (endpoint-independent mapping) and inbound packets pass only from
	// an address and port the host sent to (address-and-port-dependent
	// filtering): the common home router.
	Cone NAT = iota
	// Symmetric is MASQUERADE --random-fully: a new port per destination.
	Symmetric
)

func (n NAT) String() string {
	if n == Symmetric {
		return "symmetric"
	}
	return "cone"
}

// Lab is one topology. Every namespace it makes is named with its tag and
// removed in the test's Cleanup.
type Lab struct {
	t   testing.TB
	tag string // namespace prefix, unique per lab
	sw  string // namespace holding the bridge

	mu      sync.Mutex
	nss     []string
	pubNext int
	rtrNext int
	public  []port // every interface on the bridge
	tables  []*netns.NeighbourTable
}

// port is one interface with a static address and MAC, and the
// neighbour table through which it learns the others.
type port struct {
	ns, dev string
	ip      netip.Addr
	mac     net.HardwareAddr
	table   *netns.NeighbourTable
}

// Host is a namespace with one address, public or behind a router.
type Host struct {
	Lab  *Lab
	Name string
	NS   string
	IP   netip.Addr
	lan  *Router // nil for a public host
	next int     // next LAN host index, for routers
}

// Router is a NAT router: a host whose WAN side is public.
type Router struct {
	Host
	Kind  NAT
	LANIP netip.Addr
	lanNo int
	lan   []port // the router's LAN side and its hosts
}

// Public side: 100.1.0.0/16, host N at 100.1.N.10, each in a /24 of its
// own as on the Internet (the table's per-/24 limits apply). The range
// is public address space, which miniupnpd insists on for its WAN side;
// the lab's namespaces reach nothing outside themselves. LANs:
// 192.168.N.0/24, the router at .1.
const (
	publicFormat = "100.1.%d.10"
	publicBits   = 16
)

// Usable reports why the lab cannot run here, or "".
func Usable() string {
	if why := netns.Usable(); why != "" {
		return why
	}
	if _, err := exec.LookPath("iptables"); err != nil {
		return "needs iptables"
	}
	return ""
}

// New makes an empty lab: a switch namespace with a bridge. Namespace
// names start with "kn-nat-".
func New(t testing.TB) *Lab {
	t.Helper()
	if why := Usable(); why != "" {
		t.Skip("NAT lab: " + why)
	}
	var b [3]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	l := &Lab{t: t, tag: "kn-nat-" + hex.EncodeToString(b[:])}
	t.Cleanup(l.Close)
	l.sw = l.addNS("sw")
	l.ip(l.sw, "link", "add", "br0", "type", "bridge")
	l.ip(l.sw, "link", "set", "br0", "up")
	return l
}

// Close deletes every namespace of the lab; processes still in them were
// stopped by their own Cleanup, registered later and so run first.
func (l *Lab) Close() {
	l.mu.Lock()
	nss, tables := l.nss, l.tables
	l.nss, l.tables = nil, nil
	l.mu.Unlock()
	// An open netlink socket keeps its namespace alive after the name
	// is gone.
	for _, nt := range tables {
		if err := nt.Close(); err != nil {
			l.t.Errorf("closing a neighbour table: %v", err)
		}
	}
	for i := len(nss) - 1; i >= 0; i-- {
		if out, err := exec.Command("ip", "netns", "del", nss[i]).CombinedOutput(); err != nil {
			l.t.Errorf("removing namespace %s: %v: %s", nss[i], err, out)
		}
	}
}

func (l *Lab) addNS(name string) string {
	ns := l.tag + "-" + name
	l.run("ip", "netns", "add", ns)
	l.mu.Lock()
	l.nss = append(l.nss, ns)
	l.mu.Unlock()
	l.ip(ns, "link", "set", "lo", "up")
	return ns
}

// addHost makes the namespace of a host named name, numbered by the
// counter *next, which it advances under the lab's lock.
func (l *Lab) addHost(name string, next *int) (*Host, int) {
	l.mu.Lock()
	*next++
	i := *next
	l.mu.Unlock()
	h := &Host{Lab: l, Name: name}
	h.NS = l.addNS(name)
	return h, i
}

// Public adds a host on the bridge.
func (l *Lab) Public(name string) *Host {
	h := &Host{Lab: l, Name: name}
	h.NS = l.addNS(name)
	h.IP = l.plug(h.NS, "eth0", name)
	return h
}

// plug links dev in ns to the bridge and gives it the next public address.
func (l *Lab) plug(ns, dev, name string) netip.Addr {
	l.mu.Lock()
	l.pubNext++
	no := l.pubNext
	ip := netip.MustParseAddr(fmt.Sprintf(publicFormat, no))
	l.mu.Unlock()
	me := port{ns: ns, dev: dev, ip: ip, mac: net.HardwareAddr{0x02, 0x77, 0, 0, byte(no >> 8), byte(no)}}
	swPort := fmt.Sprintf("p%d", no)
	l.run("ip", "link", "add", dev, "netns", ns, "address", me.mac.String(), "type", "veth", "peer", "name", swPort, "netns", l.sw)
	l.ip(l.sw, "link", "set", swPort, "master", "br0", "up")
	l.ip(ns, "addr", "add", fmt.Sprintf("%s/%d", ip, publicBits), "dev", dev)
	l.ip(ns, "link", "set", dev, "up")
	me.table = l.neighbourTable(ns, dev)
	l.mu.Lock()
	others := append([]port(nil), l.public...)
	l.public = append(l.public, me)
	l.mu.Unlock()
	for _, o := range others {
		neighbour(l, me, o)
		neighbour(l, o, me)
	}
	return ip
}

// neighbour gives from a permanent ARP entry for to. Every link of the lab
// uses static entries: the kernel's ARP table is shared by all namespaces
// of the machine, and once full (gc_thresh3) it takes no dynamic entry,
// while permanent ones are exempt. They go in over netlink, not through
// ip(8): a bridge of n hosts needs n² of them.
func neighbour(l *Lab, from, to port) {
	l.t.Helper()
	if err := from.table.Set(to.ip, to.mac); err != nil {
		l.t.Fatalf("in %s: %v", from.ns, err)
	}
}

// neighbourTable opens the neighbour table of dev in ns, to be closed
// with the lab.
func (l *Lab) neighbourTable(ns, dev string) *netns.NeighbourTable {
	l.t.Helper()
	nt, err := netns.OpenNeighbourTable(netns.Path(ns), dev)
	if err != nil {
		l.t.Fatal(err)
	}
	l.mu.Lock()
	l.tables = append(l.tables, nt)
	l.mu.Unlock()
	return nt
}

// Router adds a NAT router on the bridge; hosts go behind it with
// Router.AddHost.
func (l *Lab) Router(name string, kind NAT) *Router {
	l.mu.Lock()
	l.rtrNext++
	no := l.rtrNext
	l.mu.Unlock()
	r := &Router{Host: Host{Lab: l, Name: name}, Kind: kind, lanNo: no}
	r.NS = l.addNS(name)
	r.IP = l.plug(r.NS, "wan", name)
	r.LANIP = netip.MustParseAddr(fmt.Sprintf("192.168.%d.1", no))
	gw := port{ns: r.NS, dev: "lan", ip: r.LANIP, mac: net.HardwareAddr{0x02, 0xa8, byte(no), 0, 0, 1}}
	l.ip(r.NS, "link", "add", "lan", "address", gw.mac.String(), "type", "bridge")
	l.ip(r.NS, "addr", "add", r.LANIP.String()+"/24", "dev", "lan")
	l.ip(r.NS, "link", "set", "lan", "up")
	gw.table = l.neighbourTable(r.NS, "lan")
	r.lan = []port{gw}
	l.run("ip", "netns", "exec", r.NS, "sysctl", "-qw", "net.ipv4.ip_forward=1")
	rule := []string{"netns", "exec", r.NS, "iptables", "-t", "nat", "-A", "POSTROUTING", "-o", "wan", "-j", "MASQUERADE"}
	if kind == Symmetric {
		rule = append(rule, "--random-fully")
	}
	l.run("ip", rule...)
	// Like a home router's firewall, drop unsolicited packets to the
	// router itself. Without it, a punch that reaches the router before
	// its host's own packet has left creates a conntrack entry for the
	// router's port, and MASQUERADE then moves the host's mapping to
	// another port to avoid the clash, which defeats NAT-to-NAT punching.
	l.run("ip", "netns", "exec", r.NS, "iptables", "-A", "INPUT", "-i", "wan", "-m", "conntrack", "--ctstate", "NEW,INVALID", "-j", "DROP")
	return r
}

// AddHost adds a host behind r, on r's LAN bridge.
func (r *Router) AddHost(name string) *Host {
	l := r.Lab
	h, i := l.addHost(name, &r.next)
	h.lan = r
	h.IP = netip.MustParseAddr(fmt.Sprintf("192.168.%d.%d", r.lanNo, 10+i))
	me := port{ns: h.NS, dev: "eth0", ip: h.IP, mac: net.HardwareAddr{0x02, 0xa8, byte(r.lanNo), byte(i), 0, 2}}
	brPort := fmt.Sprintf("h%d", i)
	l.run("ip", "link", "add", "eth0", "netns", h.NS, "address", me.mac.String(), "type", "veth", "peer", "name", brPort, "netns", r.NS)
	l.ip(r.NS, "link", "set", brPort, "master", "lan", "up")
	l.ip(h.NS, "addr", "add", h.IP.String()+"/24", "dev", "eth0")
	l.ip(h.NS, "link", "set", "eth0", "up")
	me.table = l.neighbourTable(h.NS, "eth0")
	l.ip(h.NS, "route", "add", "default", "via", r.LANIP.String(), "dev", "eth0")
	l.mu.Lock()
	others := append([]port(nil), r.lan...)
	r.lan = append(r.lan, me)
	l.mu.Unlock()
	for _, o := range others {
		neighbour(l, me, o)
		neighbour(l, o, me)
	}
	return h
}

// SetUDPTimeouts sets the router's conntrack UDP timeouts in seconds:
// unreplied (Linux default 30) and once replied (120).
func (r *Router) SetUDPTimeouts(unreplied, stream int) {
	r.Lab.run("ip", "netns", "exec", r.NS, "sysctl", "-qw",
		fmt.Sprintf("net.netfilter.nf_conntrack_udp_timeout=%d", unreplied),
		fmt.Sprintf("net.netfilter.nf_conntrack_udp_timeout_stream=%d", stream))
}

// Conntrack counts the router's UDP conntrack entries that involve ip.
func (r *Router) Conntrack(ip netip.Addr) int {
	out, err := r.Exec("cat", "/proc/net/nf_conntrack")
	if err != nil {
		r.Lab.t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, " udp ") && strings.Contains(line, "="+ip.String()+" ") {
			n++
		}
	}
	return n
}

// Exec runs a command in the host's namespace and returns its stdout.
func (h *Host) Exec(name string, args ...string) ([]byte, error) {
	cmd := exec.Command("ip", append([]string{"netns", "exec", h.NS, name}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%s %s in %s: %w: %s", name, strings.Join(args, " "), h.Name, err, bytes.TrimSpace(stderr.Bytes()))
	}
	return out, nil
}

// Behind is the router h sits behind, or nil for a public host.
func (h *Host) Behind() *Router { return h.lan }

func (l *Lab) ip(ns string, args ...string) {
	l.t.Helper()
	l.run("ip", append([]string{"-n", ns}, args...)...)
}

func (l *Lab) run(name string, args ...string) {
	l.t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		l.t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
}
