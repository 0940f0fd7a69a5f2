package node

import (
	"net/netip"
	"sync"

	"github.com/anacrolix/dht/v2/krpc"
)

// externalAddr learns how the network sees us from the ip field of
// responses (BEP 42). One responder could lie or sit behind a different NAT
// path, so an address is only adopted once ExternalAgreement distinct
// responders among the last ExternalVoteWindow report it.
type externalAddr struct {
	mu     sync.Mutex
	votes  map[krpc.ID]netip.AddrPort // latest report per responder
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
	}
	old = e.agreed
	if prev, known := e.votes[from]; known && prev == ap {
		return old, old, false
	}
	if _, known := e.votes[from]; !known {
		e.order = append(e.order, from)
		if len(e.order) > ExternalVoteWindow {
			delete(e.votes, e.order[0])
			e.order = e.order[1:]
		}
	}
	e.votes[from] = ap
	// Tally in a stack array: a new responder votes on most replies, and a
	// map per vote would be an allocation each.
	var buf [ExternalVoteWindow + 1]netip.AddrPort
	votes := buf[:0]
	for _, v := range e.votes {
		votes = append(votes, v)
	}
	best, bestCount := netip.AddrPort{}, 0
	for i, v := range votes {
		n := 0
		for _, w := range votes[:i+1] {
			if w == v {
				n++
			}
		}
		if n > bestCount {
			best, bestCount = v, n
		}
	}
	if bestCount >= ExternalAgreement {
		e.agreed = best
	}
	return old, e.agreed, e.agreed != old
}

// get returns the agreed external address, or the zero value.
func (e *externalAddr) get() netip.AddrPort {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.agreed
}
