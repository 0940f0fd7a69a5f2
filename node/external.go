package node

import (
	"net/netip"
	"sync"

	"github.com/anacrolix/dht/v2/krpc"
)

// externalAddr learns how the network sees us from the ip field of
// responses (BEP 42). One responder could lie or sit behind a different NAT
// path, so an address is only adopted once ExternalAgreement distinct
// responders among the last ExternalVoteWindow report it, and an adopted
// one gives way only to an address more of them report.
type externalAddr struct {
	mu     sync.Mutex
	votes  map[krpc.ID]netip.AddrPort // latest report per responder
	tally  map[netip.AddrPort]int     // responders per reported address, kept with votes
	order  []krpc.ID                  // responders, oldest first, for the window
	agreed netip.AddrPort
}

// vote records what responder from reported as our address. changed says
// whether the agreed address moved from old to cur.
func (e *externalAddr) vote(from krpc.ID, ip krpc.NodeAddr) (old, cur netip.AddrPort, changed bool) {
	ap, ok := addrPortOf(ip)
	if !ok || ap.Addr().IsUnspecified() {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.votes == nil {
		e.votes = make(map[krpc.ID]netip.AddrPort)
		e.tally = make(map[netip.AddrPort]int)
	}
	old = e.agreed
	prev, known := e.votes[from]
	if known && prev == ap {
		return old, old, false
	}
	if known {
		e.uncount(prev)
	} else {
		e.order = append(e.order, from)
		if len(e.order) > ExternalVoteWindow {
			e.uncount(e.votes[e.order[0]])
			delete(e.votes, e.order[0])
			e.order = e.order[1:]
		}
	}
	e.votes[from] = ap
	e.tally[ap]++
	// The tally is kept as votes change: a new responder votes on most
	// replies, and recounting the window each time showed in profiles.
	// On a tie the agreed address stays, so that it does not flip with
	// the map's order.
	best, bestCount := e.agreed, e.tally[e.agreed]
	for a, n := range e.tally {
		if n > bestCount {
			best, bestCount = a, n
		}
	}
	if bestCount >= ExternalAgreement {
		e.agreed = best
	}
	return old, e.agreed, e.agreed != old
}

// uncount takes one responder's report of a off the tally.
func (e *externalAddr) uncount(a netip.AddrPort) {
	if e.tally[a]--; e.tally[a] <= 0 {
		delete(e.tally, a)
	}
}

// get returns the agreed external address, or the zero value.
func (e *externalAddr) get() netip.AddrPort {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.agreed
}
