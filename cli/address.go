package cli

import (
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/kadnode/kadnode/wire"
)

// awaitContact returns the contact string `run` prints. On a wildcard
// listen address the bound address is useless to others, so it waits (at
// most externalAddrWait) for the join to report the external address, and
// otherwise picks the best local one. interrupted is set when a signal came
// first; the signal is then consumed.
func (d *daemon) awaitContact(sig <-chan os.Signal) (contact string, interrupted bool) {
	local := d.tr.LocalAddr()
	if !local.Addr().IsUnspecified() {
		return wire.ContactString(d.tr.LocalID(), local), false
	}
	deadline := time.NewTimer(externalAddrWait)
	defer deadline.Stop()
	tick := time.NewTicker(progressInterval)
	defer tick.Stop()
	for {
		self := d.node.Self()
		if self.External.IsValid() {
			return wire.ContactString(self.ID, self.External), false
		}
		if self.Joined {
			break
		}
		select {
		case <-sig:
			return "", true
		case <-deadline.C:
			return wire.ContactString(d.tr.LocalID(), bestLocalAddr(local)), false
		case <-tick.C:
		}
	}
	return wire.ContactString(d.tr.LocalID(), bestLocalAddr(local)), false
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
