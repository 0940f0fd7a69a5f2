package testnet

import (
	"testing"
	"time"

	"github.com/kadnode/kadnode/node"
	"github.com/kadnode/kadnode/wire"
)

// The sessions a join's lookups open close when those lookups end, even
// to the nodes that are now table members: a network that has just been
// built holds only the sessions of the bootstrap pings, one per node that
// joined through a seed. The idle timeouts are an hour here, so only the
// end of the lookups can close the others. Liveness pings (which close
// their own sessions) and prepared handshakes (which a lookup may leave
// half-open to the transient idle timeout) are kept out of the count.
func TestJoinLeavesOnlyTheSeedSessions(t *testing.T) {
	const size = 24
	net := newNet(t, patient(Options{Seed: 3,
		Node: func(_ int, c *node.Config) { c.RevalidateInterval = time.Hour },
		Wire: func(_ int, c *wire.Config) {
			c.IdleTimeout, c.TransientIdleTimeout = time.Hour, time.Hour
			c.PrepareMinRTT = time.Hour
		},
	}))
	grow(t, net, size)
	want := 2 * (size - 1) // each bootstrap ping's session, at both ends
	if err := WaitFor(testCtx(t), func() bool { return net.LiveSessions() <= want }); err != nil {
		t.Fatalf("%d live sessions after the join of %d nodes, want at most %d (the bootstrap pings'): %v",
			net.LiveSessions(), size, want, err)
	}
}
