package wire

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/kadnode/kadnode/testnet/natlab"
	"github.com/kadnode/kadnode/testnet/netns"
)

// bridgePort is the port every bridge node listens on, each on its own
// namespace's address.
const bridgePort = 4114

// newBridgeNodes starts n transports, each in a network namespace of its
// own on one Linux bridge: separate hosts, with real veth links, ARP and
// the kernel's full UDP path between them, which loopback skips. It skips
// the test where namespaces cannot be made (not root).
func newBridgeNodes(t *testing.T, n int, mod func(*Config)) []*testNode {
	t.Helper()
	lab := natlab.New(t)
	nodes := make([]*testNode, n)
	for i := range nodes {
		h := lab.Public(fmt.Sprintf("w%d", i))
		listen := func(cfg Config) (*Transport, error) {
			var tr *Transport
			err := netns.Do(netns.Path(h.NS), func() error {
				var err error
				tr, err = Listen(cfg)
				return err
			})
			return tr, err
		}
		nodes[i] = newTestNodeVia(t, func(c *Config) {
			c.Listen = netip.AddrPortFrom(h.IP, bridgePort).String()
			if mod != nil {
				mod(c)
			}
		}, listen)
	}
	return nodes
}

// closeSessionWith closes the established session with addr the way the
// idle reaper does: at once, with a close_notify to the peer.
func (t *Transport) closeSessionWith(addr netip.AddrPort) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if sl := t.peers[addr]; sl != nil && sl.est != nil {
		t.closeAsync(sl.est)
	}
}
