package node

import (
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/kadnode/kadnode/kad"
)

// What an operator's tools (status page, readiness check, store recovery)
// read from a running node, beyond Nodes, Self and Stats.

// Contacts returns the routing table's entries, replacements included, as
// the store records them: what a reopened store is written back from.
func (n *Node) Contacts() []kad.Contact { return n.table.Contacts() }

// Flush returns once every change made to the table so far was handed to
// the store; whether the store kept it is the store's to say.
func (n *Node) Flush() { n.table.Flush() }

// Offline reports whether the node currently blames its failed calls on
// its own link: the last calls failed and the peers that answered lately
// did not answer a probe either.
func (n *Node) Offline() bool { return n.offline.isOffline() }

// peerRTTs keeps the round-trip time of the last reply of each peer, for
// operators, who see it for table contacts only; bounded by maxPeerRTTs.
type peerRTTs struct {
	mu sync.Mutex
	m  map[krpc.ID]time.Duration
}

// observe records id's rtt. Past maxPeerRTTs it forgets the peers the
// table does not hold: a long-running node hears from far more peers
// through its lookups than its table keeps, and only members are shown.
func (p *peerRTTs) observe(id krpc.ID, rtt time.Duration, inTable func(krpc.ID) bool) {
	p.mu.Lock()
	if p.m == nil {
		p.m = make(map[krpc.ID]time.Duration)
	}
	p.m[id] = rtt
	var ids []krpc.ID
	if len(p.m) > maxPeerRTTs {
		ids = slices.Collect(maps.Keys(p.m))
	}
	p.mu.Unlock()
	if ids == nil {
		return
	}
	// The table is asked without p.mu held, so that p.mu stays a leaf.
	// The peer that just answered stays: the table takes it after this.
	var gone []krpc.ID
	for _, other := range ids {
		if other != id && !inTable(other) {
			gone = append(gone, other)
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, other := range gone {
		delete(p.m, other)
	}
	if len(p.m) > maxPeerRTTs/2 {
		// A table this large is not expected; starting over keeps the
		// next overflow from coming back after a few replies.
		clear(p.m)
	}
}

func (p *peerRTTs) get(id krpc.ID) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.m[id]
}
