package sim

import (
	"fmt"
	"net/netip"
	"sync"
	"time"
)

// NATKind is how a simulated node is attached to the network.
type NATKind int

const (
	// Public: the node's own address is reachable by anyone.
	Public NATKind = iota
	// Cone: a home router as Linux MASQUERADE builds it. Mapping is
	// endpoint-independent (one external port for every destination);
	// filtering depends on address and port (a datagram from X:p passes
	// only while the node's mapping towards X:p lives).
	Cone
	// Symmetric: a new external port for every destination (MASQUERADE
	// --random-fully), filtered like Cone.
	Symmetric
)

// String names the kind as kadsim's tables do.
func (k NATKind) String() string {
	switch k {
	case Public:
		return "public"
	case Cone:
		return "cone"
	case Symmetric:
		return "symmetric"
	}
	return fmt.Sprintf("NATKind(%d)", int(k))
}

// natBox is the router in front of one NAT'd endpoint: its conntrack
// table, one mapping per remote address, and its external address.
type natBox struct {
	kind NATKind
	ext  netip.Addr

	mu       sync.Mutex
	out      map[netip.AddrPort]*mapping // by remote address
	nextPort uint16                      // Symmetric: the next port handed out
}

// mapping is one conntrack entry: the external port it uses towards one
// remote address, when a datagram last crossed it and whether it has
// seen traffic both ways (which lengthens its life, as Linux does).
type mapping struct {
	port    uint16
	last    time.Time
	replied bool
}

func newNATBox(kind NATKind, ext netip.Addr) *natBox {
	return &natBox{kind: kind, ext: ext, out: make(map[netip.AddrPort]*mapping), nextPort: symmetricFirstPort}
}

// live reports whether m still holds at now.
func (m *mapping) live(now time.Time) bool {
	if m == nil {
		return false
	}
	ttl := conntrackUnreplied
	if m.replied {
		ttl = conntrackReplied
	}
	return now.Sub(m.last) < ttl
}

// outbound passes a datagram to remote: it opens or refreshes the
// mapping and returns the source address remote sees.
func (b *natBox) outbound(remote netip.AddrPort, now time.Time) netip.AddrPort {
	b.mu.Lock()
	defer b.mu.Unlock()
	m := b.out[remote]
	if !m.live(now) {
		b.sweep(now)
		m = &mapping{port: b.newPort()}
		b.out[remote] = m
	}
	m.last = now
	return netip.AddrPortFrom(b.ext, m.port)
}

// newPort is the external port of a new mapping: always the node's own
// for a cone (MASQUERADE keeps a free source port), a fresh one per
// destination for a symmetric NAT.
func (b *natBox) newPort() uint16 {
	if b.kind == Cone {
		return Port
	}
	p := b.nextPort
	b.nextPort++
	if b.nextPort < symmetricFirstPort {
		b.nextPort = symmetricFirstPort
	}
	return p
}

// source is the address remote would see now, without opening anything.
func (b *natBox) source(remote netip.AddrPort, now time.Time) (netip.AddrPort, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	m := b.out[remote]
	if !m.live(now) {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(b.ext, m.port), true
}

// inbound decides on a datagram from remote to the external port: it
// passes only through a live mapping towards remote on that port, which
// it refreshes and marks as replied.
func (b *natBox) inbound(remote netip.AddrPort, port uint16, now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	m := b.out[remote]
	if !m.live(now) || m.port != port {
		return false
	}
	m.last, m.replied = now, true
	return true
}

// activeWithin reports whether the mapping towards remote on port is live
// and has carried a datagram within idle: a session over it is open.
func (b *natBox) activeWithin(remote netip.AddrPort, port uint16, now time.Time, idle time.Duration) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	m := b.out[remote]
	return m.live(now) && m.port == port && now.Sub(m.last) < idle
}

// sweep drops expired mappings once the table has grown, so that a long
// run keeps only the live ones.
func (b *natBox) sweep(now time.Time) {
	if len(b.out) < natSweepAt {
		return
	}
	for r, m := range b.out {
		if !m.live(now) {
			delete(b.out, r)
		}
	}
}
