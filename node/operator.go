package node

import (
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
// operators; bounded by maxPeerRTTs.
type peerRTTs struct {
	mu sync.Mutex
	m  map[krpc.ID]time.Duration
}

func (p *peerRTTs) observe(id krpc.ID, rtt time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.m == nil || len(p.m) >= maxPeerRTTs {
		p.m = make(map[krpc.ID]time.Duration)
	}
	p.m[id] = rtt
}

func (p *peerRTTs) get(id krpc.ID) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.m[id]
}
