package node

import (
	"context"
	"net/netip"

	"github.com/anacrolix/dht/v2/krpc"
)

// preparer is implemented by transports that can start a handshake ahead
// of a call (wire.Transport.Prepare): a call soon after finds the session
// ready, or joins the handshake.
type preparer interface {
	Prepare(ctx context.Context, addr netip.AddrPort, expect *krpc.ID)
}

// prepareNext starts handshakes with the candidates the lookup will query
// next: the first PrepareAhead fresh ones among the k closest, after those
// in flight. A first contact costs the cookie exchange and the handshake's
// round trips before the query's own; prepared while the current queries
// are out, it costs only the query's when its turn comes. Each candidate
// is prepared once, under the lookup's transient scope, so a session no
// query used closes with the lookup. Candidates reached through a
// rendezvous (vias) are left to their punch. The transport decides
// whether a handshake pays: wire prepares only where query round trips
// cost more than a handshake's CPU (wire.Config.PrepareMinRTT).
func (l *lookup) prepareNext() {
	left := l.n.cfg.PrepareAhead
	if left <= 0 {
		return
	}
	p, ok := l.n.tr.(preparer)
	if !ok {
		return
	}
	l.closest(func(c *candidate) bool {
		if c.state != candFresh {
			return true
		}
		if !c.prepared && len(c.vias) == 0 {
			c.prepared = true
			p.Prepare(l.transient, c.addr, &c.id)
		}
		left--
		return left > 0
	})
}
