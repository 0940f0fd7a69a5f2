package node

import (
	"context"
	"math/rand/v2"
	"net/netip"
	"slices"
	"time"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/kadnode/kadnode/kad"
)

// sessionHolder is implemented by transports that can tell whether a
// session with an address is open (wire does; the simulation need not).
type sessionHolder interface {
	HasSession(addr netip.AddrPort) bool
}

// hasSession reports whether the transport holds a live session to addr.
func (n *Node) hasSession(addr netip.AddrPort) bool {
	h, ok := n.tr.(sessionHolder)
	return ok && h.HasSession(addr)
}

// roFlag is the ro (BEP 43) flag of our queries: set when configured
// read-only, and, with NAT handling on, until we are verified public, so
// that nobody inserts us at an address others cannot use.
func (n *Node) roFlag() bool {
	return n.cfg.ReadOnly || (n.nat != nil && !n.nat.public())
}

// natHandle answers the NAT traversal queries. It returns nil for
// queries that are not its own.
func (n *Node) natHandle(from kad.Peer, q *krpc.Msg) *krpc.Msg {
	if !kad.NATMethod(q.Q) {
		return nil
	}
	if n.nat == nil {
		return kad.ErrorReply(krpc.ErrorCodeMethodUnknown, "this node does no NAT traversal")
	}
	now := n.cfg.Clock.Now()
	switch q.Q {
	case kad.MethodNATRegister:
		return n.natRegister(from, now)
	case kad.MethodNATConnect:
		return n.natConnectRelay(from, q, now)
	case kad.MethodNATPunch:
		return n.natPunch(from, q)
	case kad.MethodNATCheck:
		return n.natCheckRelay(from, q.A.Target)
	case kad.MethodNATDial:
		return n.natDial(from, q)
	default: // kad.MethodNATNonce
		if n.nat.nonceFrom(q.A.Target, from.Addr, now) {
			n.log.Debug("dial-back arrived from a node we never contacted", "from", from.Addr)
		}
		return kad.PingReply(n.self, from.Addr)
	}
}

// natRegister keeps from as a rendezvous client.
func (n *Node) natRegister(from kad.Peer, now time.Time) *krpc.Msg {
	s := n.nat
	s.mu.Lock()
	_, known := s.clients[from.ID]
	full := !known && len(s.clients) >= NATMaxClients
	if !full {
		s.clients[from.ID] = natClient{addr: from.Addr, until: now.Add(NATClientTTL)}
	}
	s.mu.Unlock()
	if full {
		return kad.ErrorReply(krpc.ErrorCodeServerError, "this node keeps as many rendezvous clients as it can; register with another")
	}
	return kad.PingReply(n.self, from.Addr)
}

// natConnectRelay relays a punch request from the asker to target, a
// client of ours, over our live session to it; the target dials the
// asker's address as we observe it. The asker's NATPortUnsure goes with
// it. The answer gives the asker the target's observed address.
func (n *Node) natConnectRelay(from kad.Peer, q *krpc.Msg, now time.Time) *krpc.Msg {
	target := q.A.Target
	_, c, ok := n.nat.peerKind(target, now)
	switch {
	case target == from.ID:
		return kad.ErrorReply(krpc.ErrorCodeProtocolError, "nat_connect names the caller itself as the target")
	case !ok || !n.hasSession(c.addr):
		return kad.ErrorReply(krpc.ErrorCodeServerError, "no live rendezvous session with the target; it cannot be reached through this node")
	case !n.nat.allow(from.ID):
		return kad.ErrorReply(krpc.ErrorCodeServerError, "too many rendezvous requests; slow down")
	}
	ctx, cancel := context.WithTimeout(n.ctx, n.cfg.RPCTimeout)
	defer cancel()
	punch := kad.NATQuery(kad.MethodNATPunch, n.self, from.ID, from.Addr, n.roFlag())
	if slices.Contains(q.A.Want, kad.NATPortUnsure) {
		punch.A.Want = []krpc.Want{kad.NATPortUnsure}
	}
	_, _, _, err := n.call(ctx, c.addr, &target, punch)
	if err != nil {
		n.log.Debug("relaying a punch failed", "target", target, "err", err)
		return kad.ErrorReply(krpc.ErrorCodeServerError, "the target did not take the relayed punch request")
	}
	n.nat.mu.Lock()
	n.nat.relays++
	n.nat.mu.Unlock()
	return kad.NATConnectReply(n.self, from.Addr, target, c.addr)
}

// natPunch dials the requester a rendezvous of ours names, at the address
// the rendezvous observed, so that our NAT lets its dial in. Only our own
// rendezvous contacts may ask, within their rate limit: one handshake
// per request, to an address the relay saw. A failure counts towards
// client mode only when the requester knows its port to be the same
// towards everyone; otherwise its own NAT may be the cause.
func (n *Node) natPunch(from kad.Peer, q *krpc.Msg) *krpc.Msg {
	n.nat.mu.Lock()
	_, ours := n.nat.rendezvous[from.ID]
	n.nat.mu.Unlock()
	addr, ok := addrPortOf(q.IP)
	switch {
	case !ours:
		return kad.ErrorReply(krpc.ErrorCodeServerError, "not registered with you: punch requests come only through our rendezvous contacts")
	case !ok || !usableAddr(addr) || q.A.Target.IsZero():
		return kad.ErrorReply(krpc.ErrorCodeProtocolError, `nat_punch needs the requester's ID in "target" and its address in "ip"`)
	case !n.nat.allow(from.ID):
		return kad.ErrorReply(krpc.ErrorCodeServerError, "too many punch requests; slow down")
	}
	asker := q.A.Target
	unsure := slices.Contains(q.A.Want, kad.NATPortUnsure)
	n.natAsync(NATDialTimeout, func(ctx context.Context) {
		_, _, err := n.pingAddr(ctx, addr, &asker)
		n.nat.mu.Lock()
		switch {
		case err == nil:
			n.nat.punchOK++
		case n.ctx.Err() != nil:
		case unsure:
			n.nat.punchDiscounted++
		default:
			n.nat.punchFailed++
		}
		n.nat.mu.Unlock()
		n.log.Debug("hole punch", "to", addr, "err", err)
	})
	return kad.PingReply(n.self, from.Addr)
}

// natCheckRelay has a third node dial the caller back with its nonce. It
// answers at once; the caller learns the outcome from the dial-back
// itself, never from our word.
func (n *Node) natCheckRelay(from kad.Peer, nonce krpc.ID) *krpc.Msg {
	if nonce.IsZero() {
		return kad.ErrorReply(krpc.ErrorCodeProtocolError, `nat_check needs a nonce in "target"`)
	}
	if !n.nat.allow(from.ID) {
		return kad.ErrorReply(krpc.ErrorCodeServerError, "too many reachability checks; slow down")
	}
	helper, ok := n.dialBackHelper(from)
	if !ok {
		return kad.ErrorReply(krpc.ErrorCodeServerError, "no other contact to dial you back; ask another node")
	}
	n.natAsync(CallDeadlineFactor*n.cfg.RPCTimeout, func(ctx context.Context) {
		ctx, done := sessionScope(ctx)
		defer done()
		_, _, _, err := n.call(ctx, helper.Addr, &helper.ID, kad.NATQuery(kad.MethodNATDial, n.self, nonce, from.Addr, n.roFlag()))
		n.log.Debug("asked for a dial-back", "helper", helper.Addr, "for", from.Addr, "err", err)
	})
	return kad.PingReply(n.self, from.Addr)
}

// dialBackHelper picks a contact other than the asker that answered us
// and is not known to need a rendezvous.
func (n *Node) dialBackHelper(asker kad.Peer) (kad.Peer, bool) {
	now := n.cfg.Clock.Now()
	cs := n.table.Contacts()
	start := 0
	if len(cs) > 0 {
		start = rand.IntN(len(cs)) // spread the dial-backs over the table
	}
	for i := range cs {
		c := cs[(start+i)%len(cs)]
		if c.ID == asker.ID || c.Addr.Addr() == asker.Addr.Addr() || c.LastResponse.IsZero() {
			continue
		}
		if natted, _, _ := n.nat.peerKind(c.ID, now); natted {
			continue
		}
		return kad.Peer{ID: c.ID, Addr: c.Addr}, true
	}
	return kad.Peer{}, false
}

// natDial does a dial-back for a peer: one handshake and a nat_nonce to
// the address it observed, within the peer's rate limit.
func (n *Node) natDial(from kad.Peer, q *krpc.Msg) *krpc.Msg {
	addr, ok := addrPortOf(q.IP)
	switch {
	case !ok || !usableAddr(addr) || q.A.Target.IsZero():
		return kad.ErrorReply(krpc.ErrorCodeProtocolError, `nat_dial needs a nonce in "target" and an address in "ip"`)
	case addr == n.listen || addr == from.Addr:
		return kad.ErrorReply(krpc.ErrorCodeProtocolError, "nat_dial names this node or the requester itself")
	case !n.nat.allow(from.ID):
		return kad.ErrorReply(krpc.ErrorCodeServerError, "too many dial-back requests; slow down")
	}
	nonce := q.A.Target
	n.natAsync(NATDialBackTimeout, func(ctx context.Context) {
		// A probe: behind a filtering NAT the asker must not answer, and
		// its handshake's timeout is then no fault of anyone's.
		ctx, done := sessionScope(ctx)
		defer done()
		_, _, _, err := n.call(kad.Probe(ctx), addr, nil, kad.NATQuery(kad.MethodNATNonce, n.self, nonce, netip.AddrPort{}, n.roFlag()))
		n.nat.mu.Lock()
		n.nat.dialBacks++
		n.nat.mu.Unlock()
		n.log.Debug("dial-back", "to", addr, "err", err)
	})
	return kad.PingReply(n.self, from.Addr)
}

// handoutAddr is the address under which a find_node answer may give
// out contact id: its own when it is not known to need a rendezvous;
// port 0 (punch through us) when it is our client and its session is
// live; otherwise none.
func (n *Node) handoutAddr(id krpc.ID, addr netip.AddrPort) (netip.AddrPort, bool) {
	if n.nat == nil {
		return addr, true
	}
	natted, _, client := n.nat.peerKind(id, n.cfg.Clock.Now())
	switch {
	case !natted:
		return addr, true
	case client && n.hasSession(addr):
		return netip.AddrPortFrom(addr.Addr(), 0), true
	}
	return addr, false
}

// lookupUsable says whether a table contact may be queried directly:
// not when it needs a rendezvous and its session is gone.
func (n *Node) lookupUsable(id krpc.ID, addr netip.AddrPort) bool {
	if n.nat == nil {
		return true
	}
	natted, _, _ := n.nat.peerKind(id, n.cfg.Clock.Now())
	return !natted || n.hasSession(addr)
}

// natStats snapshots the NAT state; zero when NAT handling is off.
func (n *Node) natStats() NATStats {
	if n.nat == nil {
		return NATStats{}
	}
	return n.nat.stats()
}

// natAsync runs f, with a context that ends after d or on Close, in a
// goroutine that Close waits for.
func (n *Node) natAsync(d time.Duration, f func(ctx context.Context)) {
	n.nat.spawn(func() {
		ctx, cancel := context.WithTimeout(n.ctx, d)
		defer cancel()
		f(ctx)
	})
}

// SetMapped tells the node that a port mapping made it reachable at addr
// (or, with an invalid addr, that the mapping is gone); NAT handling must
// be on.
func (n *Node) SetMapped(addr netip.AddrPort) {
	if n.nat == nil {
		return
	}
	n.nat.mu.Lock()
	n.nat.cfg.Mapped = addr
	n.nat.mu.Unlock()
}
