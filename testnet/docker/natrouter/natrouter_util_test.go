package main

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/kadnode/kadnode/testnet/netns"
)

// The rig's addresses: documentation-style private ranges that no
// namespace of the host uses.
const (
	rigPub = "10.251.0" // pub .1, router's wan .2
	rigLAN = "10.252.0" // router's lan .1, host .10
	// readBound bounds one read of a datagram that must arrive.
	readBound = 10 * time.Second
)

// rig is three network namespaces: pub, router and host, wired
// pub ↔ router (wan) and router (lan) ↔ host.
type rig struct {
	t                 *testing.T
	pub, router, host string
}

func newRig(t *testing.T) *rig {
	t.Helper()
	if why := netns.Usable(); why != "" {
		t.Skip(why)
	}
	tag := fmt.Sprintf("nr%d", os.Getpid()%100000)
	r := &rig{t: t, pub: tag + "-pub", router: tag + "-rtr", host: tag + "-host"}
	for _, ns := range []string{r.pub, r.router, r.host} {
		r.ip("netns", "add", ns)
		t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
		r.ip("-n", ns, "link", "set", "lo", "up")
	}
	r.ip("link", "add", "eth0", "netns", r.pub, "type", "veth", "peer", "name", "wan", "netns", r.router)
	r.ip("link", "add", "eth0", "netns", r.host, "type", "veth", "peer", "name", "lan", "netns", r.router)
	for _, a := range [][3]string{
		{r.pub, "eth0", rigPub + ".1/24"}, {r.router, "wan", rigPub + ".2/24"},
		{r.router, "lan", rigLAN + ".1/24"}, {r.host, "eth0", rigLAN + ".10/24"},
	} {
		r.ip("-n", a[0], "addr", "add", a[2], "dev", a[1])
		r.ip("-n", a[0], "link", "set", a[1], "up")
	}
	// As compose's sysctls do for the router container.
	r.ip("netns", "exec", r.router, "sysctl", "-qw", "net.ipv4.ip_forward=1")
	return r
}

func (r *rig) ip(args ...string) {
	r.t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		r.t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// in runs f on a thread inside namespace ns.
func (r *rig) in(ns string, f func() error) {
	r.t.Helper()
	if err := netns.Do(netns.Path(ns), f); err != nil {
		r.t.Fatalf("in %s: %v", ns, err)
	}
}

// socket is a UDP socket opened inside one of the rig's namespaces.
type socket struct {
	conn *net.UDPConn
	addr netip.AddrPort
}

func (r *rig) listen(ns, addr string) *socket {
	r.t.Helper()
	s := &socket{addr: netip.MustParseAddrPort(addr)}
	r.in(ns, func() error {
		var err error
		s.conn, err = net.ListenUDP("udp4", net.UDPAddrFromAddrPort(s.addr))
		return err
	})
	r.t.Cleanup(func() { s.conn.Close() })
	return s
}

func send(t *testing.T, from *socket, to netip.AddrPort, msg string) {
	t.Helper()
	if _, err := from.conn.WriteToUDPAddrPort([]byte(msg), to); err != nil {
		t.Fatalf("send from %s to %s: %v", from.addr, to, err)
	}
}

// recv reads the next datagram on s, failing the test if none comes
// within readBound.
func recv(t *testing.T, s *socket) (netip.AddrPort, string) {
	t.Helper()
	buf := make([]byte, 1500)
	if err := s.conn.SetReadDeadline(time.Now().Add(readBound)); err != nil {
		t.Fatal(err)
	}
	n, from, err := s.conn.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatalf("nothing arrived at %s: %v", s.addr, err)
	}
	return netip.AddrPortFrom(from.Addr().Unmap(), from.Port()), string(buf[:n])
}
