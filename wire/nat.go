package wire

import (
	"net/netip"

	"github.com/kadnode/kadnode/kad"
)

// HasSession reports whether an established session with addr is open:
// the node relays to, and hands out, a NAT'd contact only while it holds
// one.
func (t *Transport) HasSession(addr netip.AddrPort) bool {
	addr = kad.UnmapAddrPort(addr)
	t.mu.Lock()
	defer t.mu.Unlock()
	sl := t.peers[addr]
	return sl != nil && sl.est != nil && !sl.est.suspect()
}
