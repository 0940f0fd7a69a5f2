package node

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/kadnode/kadnode/kad"
)

// addRendezvous makes a candidate of a contact that a find_node answer
// gave with port 0: it is reached by a punch through the node that gave
// it out (via). Without NAT handling such an entry is dropped, as peers
// without the extension do. So is it behind a symmetric NAT of ours: the
// target punches towards the port our NAT gave the rendezvous, which lets
// in only the rendezvous, and our own dial leaves from another port,
// which the target's filter drops; the punch would only cost a timeout.
func (l *lookup) addRendezvous(ni krpc.NodeInfo, via *candidate) {
	ip, ok := netip.AddrFromSlice(ni.Addr.IP)
	if l.n.nat == nil || !ok || ni.Addr.Port != 0 || ip.IsUnspecified() || ip.IsMulticast() {
		return
	}
	_, skipped := l.skipped[ni.ID]
	if c := l.candidate(ni.ID); c != nil || skipped || ni.ID == l.n.self {
		// Another rendezvous for a contact not yet tried: a fallback, in
		// case the first one refuses to relay.
		if c != nil && c.state == candFresh && len(c.vias) > 0 && len(c.vias) < NATRendezvousTries &&
			!slices.ContainsFunc(c.vias, func(p kad.Peer) bool { return p.ID == via.id }) {
			c.vias = append(c.vias, kad.Peer{ID: via.id, Addr: via.addr})
		}
		return
	}
	if l.n.nat.skipPunch() {
		if l.skipped == nil {
			l.skipped = make(map[krpc.ID]struct{})
		}
		l.skipped[ni.ID] = struct{}{} // skipped once per lookup, counted once
		return
	}
	if c := l.add(ni.ID, netip.AddrPortFrom(ip.Unmap(), 0), via.round+1); c != nil {
		c.vias = []kad.Peer{{ID: via.id, Addr: via.addr}}
	}
}

// natConnectVia asks the rendezvous in vias in turn to relay a punch to
// target, until one does, and returns the target's address as that one
// sees it.
func (n *Node) natConnectVia(ctx context.Context, vias []kad.Peer, target krpc.ID) (netip.AddrPort, error) {
	var errs []error
	for _, via := range vias {
		addr, err := n.natConnect(ctx, via, target)
		if err == nil {
			return addr, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return netip.AddrPort{}, errors.Join(errs...)
}

// natConnect asks the rendezvous via to relay a punch to target, and
// returns the target's address as the rendezvous sees it. Unless we know
// our NAT keeps one port for all destinations, we say so, so that a
// failed punch does not count against the target. The target
// dials us at once; our own dial, which follows, crosses it, and the
// transport's simultaneous-open tie-break settles the two handshakes.
func (n *Node) natConnect(ctx context.Context, via kad.Peer, target krpc.ID) (netip.AddrPort, error) {
	q := kad.NATQuery(kad.MethodNATConnect, n.self, target, netip.AddrPort{}, n.roFlag())
	if n.nat.portUnsure() {
		q.A.Want = []krpc.Want{kad.NATPortUnsure}
	}
	_, reply, _, err := n.call(ctx, via.Addr, &via.ID, q)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("rendezvous %s for %x: %w", via.Addr, target, err)
	}
	var addr netip.AddrPort
	if reply.R != nil {
		reply.R.ForAllNodes(func(ni krpc.NodeInfo) {
			if a, ok := nodeAddr(ni.Addr); ok && ni.ID == target {
				addr = a
			}
		})
	}
	if !addr.IsValid() {
		return addr, fmt.Errorf("rendezvous %s answered nat_connect without the target's address", via.Addr)
	}
	return addr, nil
}
