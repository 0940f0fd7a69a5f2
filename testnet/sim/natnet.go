package sim

import (
	"context"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/anacrolix/dht/v2/krpc"

	"github.com/kadnode/kadnode/kad"
)

// NewNATEndpoint attaches a node behind a NAT of the given kind (Public
// is NewEndpoint). The node's own address is private (10.x.y.z) and
// nobody can send to it; the NAT's external IP is a loopback address of
// its own, which peers see as the node's address and through which they
// reach it only as its filter allows.
func (n *Network) NewNATEndpoint(id krpc.ID, kind NATKind) (*Endpoint, error) {
	if kind == Public {
		return n.NewEndpoint(id)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	var ext netip.Addr
	for {
		ip, err := n.allocLocked()
		if err != nil {
			return nil, err
		}
		// The node takes an address of this host's interfaces for its
		// own: an external IP there would make it look public.
		if !hostAddrs()[ip] {
			ext = ip
			break
		}
	}
	b := ext.As4()
	private := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, b[1], b[2], b[3]}), Port)
	e := newEndpoint(n, id, private)
	e.nat = newNATBox(kind, ext)
	n.behind[ext] = e
	n.kinds[id] = kind
	n.anyNAT.Store(true)
	return e, nil
}

var hostAddrs = sync.OnceValue(func() map[netip.Addr]bool {
	out := make(map[netip.Addr]bool)
	as, _ := net.InterfaceAddrs()
	for _, a := range as {
		if p, err := netip.ParsePrefix(a.String()); err == nil {
			out[p.Addr().Unmap()] = true
		}
	}
	return out
})

// Kind is how e is attached.
func (e *Endpoint) Kind() NATKind {
	if e.nat == nil {
		return Public
	}
	return e.nat.kind
}

// ExternalAddr is where peers reach e: its own address when public, its
// NAT's external IP and mapped port when behind a cone NAT; behind a
// symmetric NAT the port differs per peer, and the zero value is
// returned.
func (e *Endpoint) ExternalAddr() netip.AddrPort {
	switch e.Kind() {
	case Public:
		return e.addr
	case Cone:
		return netip.AddrPortFrom(e.nat.ext, Port)
	}
	return netip.AddrPort{}
}

// kindOf is the kind of the endpoint with the given ID.
func (n *Network) kindOf(id krpc.ID) NATKind {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.kinds[id] // Public when absent
}

// HasSession reports whether e holds a usable session with addr, as the
// real transport does: towards a NAT'd peer, while the peer's mapping
// towards e is live and carried a datagram within the session idle
// timeout. Towards a public address the simulation keeps no sessions.
func (e *Endpoint) HasSession(addr netip.AddrPort) bool {
	dst := e.net.Endpoint(addr)
	if dst == nil || dst.nat == nil || dst.handlerIfUp() == nil {
		return false
	}
	now := time.Now()
	src := e.addr
	if e.nat != nil {
		var ok bool
		if src, ok = e.nat.source(addr, now); !ok {
			return false
		}
	}
	return dst.nat.activeWithin(src, addr.Port(), now, sessionIdle)
}

// sourceFor is the address addr sees e's datagram come from; behind a
// NAT, sending opens or refreshes the mapping towards addr.
func (e *Endpoint) sourceFor(addr netip.AddrPort) netip.AddrPort {
	if e.nat == nil {
		return e.addr
	}
	return e.nat.outbound(addr, time.Now())
}

// admit reports whether a datagram from src to dst at addr passes dst's
// NAT. A datagram that meets a closed filter is sent again every
// filterRetry until giveUp, each time refreshing e's own mapping, so a
// punch from the other side in the meantime lets it through.
func (e *Endpoint) admit(ctx context.Context, dst *Endpoint, src, addr netip.AddrPort, giveUp time.Time) (bool, error) {
	if dst.nat == nil {
		return true, nil
	}
	for {
		if dst.nat.inbound(src, addr.Port(), time.Now()) {
			return true, nil
		}
		wait := min(filterRetry, time.Until(giveUp))
		if wait <= 0 {
			return false, nil
		}
		if err := e.sleep(ctx, wait); err != nil {
			return false, err
		}
		src = e.sourceFor(addr)
	}
}

// replied passes a reply back from dst (at addr) to e (seen at src):
// out through dst's NAT, in through e's.
func (e *Endpoint) replied(dst *Endpoint, src, addr netip.AddrPort) {
	now := time.Now()
	if dst.nat != nil {
		dst.nat.outbound(src, now)
	}
	if e.nat != nil {
		e.nat.inbound(addr, src.Port(), now)
	}
}

// handouts counts what find_node answers gave out of NAT'd nodes.
type handouts struct {
	mu        sync.Mutex
	symmetric map[krpc.ID]bool // symmetric nodes ever handed out
	symCount  uint64           // times one was
	conePort0 uint64           // cone nodes handed out for a punch (port 0)
	coneAddr  uint64           // cone nodes handed out at an address
}

// HandoutStats is what find_node answers gave out of NAT'd nodes.
type HandoutStats struct {
	SymmetricNodes int    // distinct symmetric nodes ever handed out
	SymmetricTimes uint64 // times a symmetric node was handed out
	ConeForPunch   uint64 // cone nodes handed out with port 0 (reach by punch)
	ConeAtAddress  uint64 // cone nodes handed out at an address (unpunched)
}

// observeReply notes the NAT'd nodes a find_node answer hands out.
func (n *Network) observeReply(method string, reply *krpc.Msg) {
	if method != kad.MethodFindNode || reply == nil || reply.R == nil {
		return
	}
	h := &n.handouts
	reply.R.ForAllNodes(func(ni krpc.NodeInfo) {
		switch n.kindOf(ni.ID) {
		case Symmetric:
			h.mu.Lock()
			if h.symmetric == nil {
				h.symmetric = make(map[krpc.ID]bool)
			}
			h.symmetric[ni.ID] = true
			h.symCount++
			h.mu.Unlock()
		case Cone:
			h.mu.Lock()
			if ni.Addr.Port == 0 {
				h.conePort0++
			} else {
				h.coneAddr++
			}
			h.mu.Unlock()
		}
	})
}

// Handouts snapshots what find_node answers gave out of NAT'd nodes.
func (n *Network) Handouts() HandoutStats {
	h := &n.handouts
	h.mu.Lock()
	defer h.mu.Unlock()
	return HandoutStats{SymmetricNodes: len(h.symmetric), SymmetricTimes: h.symCount, ConeForPunch: h.conePort0, ConeAtAddress: h.coneAddr}
}
