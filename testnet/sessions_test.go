package testnet

import (
	"testing"
	"time"

	"github.com/kadnode/kadnode/node"
	"github.com/kadnode/kadnode/wire"
)

// The sessions a join opens close when the join ends, even to the nodes
// that are now table members: a network that has just been built holds
// no session. The idle timeouts are an hour here, so only the end of the
// joins can close them. Liveness pings (which close their own sessions)
// and prepared handshakes are kept out.
func TestJoinLeavesNoSession(t *testing.T) {
	const size = 24
	net := newNet(t, patient(Options{Seed: 3,
		Node: func(_ int, c *node.Config) { c.RevalidateInterval = time.Hour },
		Wire: func(_ int, c *wire.Config) {
			c.IdleTimeout, c.TransientIdleTimeout = time.Hour, time.Hour
			c.PrepareMinRTT = time.Hour
		},
	}))
	grow(t, net, size)
	if err := WaitFor(testCtx(t), func() bool { return net.LiveSessions() == 0 }); err != nil {
		t.Fatalf("%d live sessions after the join of %d nodes, want none: %v", net.LiveSessions(), size, err)
	}
}
