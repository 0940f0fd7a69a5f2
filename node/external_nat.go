package node

import "net/netip"

// summary tallies the current votes for the NAT classification: the most
// reported address and how many responders report it, how many distinct
// ports responders report for its IP (more than one: a symmetric NAT),
// and how many responders voted.
func (e *externalAddr) summary() (top netip.AddrPort, agree, ports, voters int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, v := range e.votes {
		n := 0
		for _, w := range e.votes {
			if w == v {
				n++
			}
		}
		if n > agree || (n == agree && v.Compare(top) < 0) {
			top, agree = v, n
		}
	}
	var seen [ExternalVoteWindow + 1]uint16
	for _, v := range e.votes {
		if v.Addr() != top.Addr() {
			continue
		}
		dup := false
		for _, p := range seen[:ports] {
			dup = dup || p == v.Port()
		}
		if !dup && ports < len(seen) {
			seen[ports] = v.Port()
			ports++
		}
	}
	return top, agree, ports, len(e.votes)
}
