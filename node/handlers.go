package node

import (
	"fmt"
	"net"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/kadnode/kadnode/kad"
)

// handle answers one inbound query. from is authenticated: its ID comes
// from the certificate and its address from the UDP source, which the
// DTLS cookie exchange proved reachable. So, unless the caller is
// read-only, it goes into the table as it is, and no claimed address is
// ever trusted.
func (n *Node) handle(from kad.Peer, q *krpc.Msg) *krpc.Msg {
	if n.ctx.Err() != nil {
		return nil // closed: answering would put a dead node in others' tables
	}
	method := q.Q
	if !kad.KnownMethod(method) {
		method = methodUnknown
	}
	if n.cfg.ReadOnly {
		// BEP 43: a read-only node does not answer queries; nobody should
		// have it in their table anyway.
		n.rpcsIn.add(method, outcomeIgnored)
		return nil
	}
	if reply := n.validate(from, method, q); reply != nil {
		n.rpcsIn.add(method, outcomeInvalid)
		n.log.Debug("rejected query", "from", from.ID, "addr", from.Addr, "method", method, "err", reply.E.Msg)
		return reply
	}
	if n.nat != nil {
		// Before the table sees the caller: a find_node answered in
		// between must not hand out a NAT'd caller at its address.
		n.nat.noteCaller(from.ID, q, n.cfg.Clock.Now())
	}
	if !q.ReadOnly && n.isJoined() {
		n.table.Seen(from)
	}
	n.rpcsIn.add(method, outcomeOK)
	if n.nat != nil {
		// Our answer goes to from and keeps our NAT's mapping towards it
		// open, so a dial-back from there proves nothing; noted after
		// natHandle, which judges the dial-back this query may be.
		defer n.nat.sentTo(from.Addr, n.cfg.Clock.Now())
	}
	if reply := n.natHandle(from, q); reply != nil {
		return reply
	}
	switch method {
	case kad.MethodFindNode:
		return kad.FindNodeReply(n.self, from.Addr, n.closestExcept(q.A.Target, from.ID))
	case kad.MethodGet:
		return n.handleGet(from, q)
	case kad.MethodPut:
		return n.handlePut(from, q)
	}
	return kad.PingReply(n.self, from.Addr)
}

// validate returns the KRPC error reply for a query we must refuse, or nil;
// method is q.Q as handle classified it. wire refuses most of these before
// a query reaches the handler (DecodeMsg a missing "a", "id" or "target",
// the session an "id" that is not the certificate's), but the node does
// not depend on every transport doing so: the simulated one hands it
// queries wire never decoded.
func (n *Node) validate(from kad.Peer, method string, q *krpc.Msg) *krpc.Msg {
	switch {
	case q.A == nil:
		return kad.ErrorReply(krpc.ErrorCodeProtocolError, `query has no arguments "a"`)
	case method == methodUnknown:
		return kad.ErrorReply(krpc.ErrorCodeMethodUnknown, fmt.Sprintf("method %.32q unknown; this node answers ping, find_node, get and put", q.Q))
	case q.A.ID != from.ID:
		return kad.ErrorReply(krpc.ErrorCodeProtocolError, `"id" differs from the ID of the certificate the caller presented`)
	case from.ID == n.self:
		return kad.ErrorReply(krpc.ErrorCodeProtocolError, "caller has this node's own ID")
	case (q.Q == kad.MethodFindNode || q.Q == kad.MethodGet) && q.A.Target.IsZero():
		// The codec refuses a missing target; zero is how one that
		// slipped through would look.
		return kad.ErrorReply(krpc.ErrorCodeProtocolError, fmt.Sprintf(`%s query has no "target"`, q.Q))
	}
	return nil
}

// closestExcept returns the K contacts closest to target, leaving out the
// caller: it knows itself. It reads them in the table rather than through
// a copy, and their IPs share one buffer instead of taking an allocation
// each, as krpc.NodeAddr.FromAddrPort would.
func (n *Node) closestExcept(target, caller krpc.ID) []krpc.NodeInfo {
	k := n.cfg.K
	out := make([]krpc.NodeInfo, 0, k)
	ips := make([]byte, 0, net.IPv6len*k)
	n.table.visitClosest(target, k+1, func(c *kad.Contact) {
		if c.ID == caller || len(out) == k {
			return
		}
		addr, ok := n.handoutAddr(c.ID, c.Addr)
		if !ok {
			return
		}
		start := len(ips)
		if a := addr.Addr(); a.Is4() {
			ip := a.As4()
			ips = append(ips, ip[:]...)
		} else {
			ip := a.As16()
			ips = append(ips, ip[:]...)
		}
		out = append(out, krpc.NodeInfo{
			ID:   c.ID,
			Addr: krpc.NodeAddr{IP: ips[start:len(ips):len(ips)], Port: int(addr.Port())},
		})
	})
	return out
}
