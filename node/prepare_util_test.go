package node

import (
	"context"
	"net/netip"
	"sync"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/kadnode/kadnode/kad"
)

// Prepare records the hint; the fake has no handshakes to start.
func (t *fakeTransport) Prepare(ctx context.Context, addr netip.AddrPort, expect *krpc.ID) {
	_, transient := kad.TransientOf(ctx)
	t.prep.prepared(addr, expect, transient)
}

// prepareLog is, per address, the order in which a transport was asked to
// prepare it and first called it (0: never).
type prepareLog struct {
	mu       sync.Mutex
	seq      int
	prepare  map[netip.AddrPort]int
	call     map[netip.AddrPort]int
	repeated int // addresses prepared more than once
	untagged int // prepared outside a transient scope or without an expected ID
}

func (p *prepareLog) prepared(addr netip.AddrPort, expect *krpc.ID, transient bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seq++
	if p.prepare == nil {
		p.prepare = make(map[netip.AddrPort]int)
	}
	if _, ok := p.prepare[addr]; ok {
		p.repeated++
		return
	}
	if !transient || expect == nil {
		p.untagged++
	}
	p.prepare[addr] = p.seq
}

func (p *prepareLog) called(addr netip.AddrPort) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seq++
	if p.call == nil {
		p.call = make(map[netip.AddrPort]int)
	}
	if _, ok := p.call[addr]; !ok {
		p.call[addr] = p.seq
	}
}

// counts returns how many addresses were prepared, how many of them were
// then called after their preparation, and the two faults above.
func (p *prepareLog) counts() (prepared, usedLater, repeated, untagged int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for addr, at := range p.prepare {
		if c, ok := p.call[addr]; ok && c > at {
			usedLater++
		}
	}
	return len(p.prepare), usedLater, p.repeated, p.untagged
}

// reset forgets everything recorded.
func (p *prepareLog) reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.prepare, p.call, p.repeated, p.untagged = nil, nil, 0, 0
}
