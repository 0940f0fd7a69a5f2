package cli

import (
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/kadnode/kadnode/kad"
	"github.com/kadnode/kadnode/node"
)

// awaitContact returns the contact string `run` prints. On a wildcard
// listen address the bound address is useless to others, so it waits (at
// most externalAddrWait) for the join to report the external address
// before settling for a local one. interrupted is set when a signal came
// first; the signal is then consumed.
func (d *daemon) awaitContact(sig <-chan os.Signal) (contact string, interrupted bool) {
	if !d.tr.LocalAddr().Addr().IsUnspecified() {
		return contactOf(d.node.Self()), false
	}
	deadline := time.NewTimer(externalAddrWait)
	defer deadline.Stop()
	tick := time.NewTicker(selfPollInterval)
	defer tick.Stop()
	for {
		self := d.node.Self()
		if self.External.IsValid() || self.Joined {
			return contactOf(self), false
		}
		select {
		case <-sig:
			return "", true
		case <-deadline.C:
			return contactOf(d.node.Self()), false
		case <-tick.C:
		}
	}
}

// contactOf is the contact string others can use to reach the node: its
// external address once learned, else its listen address, with a wildcard
// replaced by this machine's best local address.
func contactOf(s node.SelfInfo) string {
	switch {
	case s.External.IsValid():
		return kad.EndpointString(s.ID, s.External)
	case s.Listen.Addr().IsUnspecified():
		return kad.EndpointString(s.ID, bestLocalAddr(s.Listen))
	default:
		return kad.EndpointString(s.ID, s.Listen)
	}
}

// bestLocalAddr replaces a wildcard address by this machine's first global
// unicast address of the same family (loopback when it has none).
func bestLocalAddr(wild netip.AddrPort) netip.AddrPort {
	want4 := wild.Addr().Is4()
	fallback := netip.IPv6Loopback()
	if want4 {
		fallback = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return netip.AddrPortFrom(fallback, wild.Port())
	}
	for _, a := range addrs {
		pfx, err := netip.ParsePrefix(a.String())
		if err != nil {
			continue
		}
		ip := pfx.Addr().Unmap()
		if ip.Is4() == want4 && ip.IsGlobalUnicast() {
			return netip.AddrPortFrom(ip, wild.Port())
		}
	}
	return netip.AddrPortFrom(fallback, wild.Port())
}
