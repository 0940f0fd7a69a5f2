package node

import (
	"context"
	"crypto/rand"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/kadnode/kadnode/kad"
)

// natStep classifies the node's reachability and does what the state
// asks: reachability checks until verified public, and, behind a cone
// NAT, registrations with its rendezvous contacts at the keepalive
// interval. It is one run of the NAT task, every NATTick.
func (n *Node) natStep() {
	s := n.nat
	wasClient := s.stats().ClientMode
	state, why, changed := s.classify(&n.external, n.listen)
	if changed {
		n.log.Info("reachability changed", "reachability", string(state), "why", why)
		if state == ReachPublic {
			// Our earlier queries carried ro; announce ourselves now.
			n.reannounce()
		}
	}
	st := s.stats()
	if st.ClientMode && !wasClient {
		n.log.Warn("running as a read-only client (BEP 43): other nodes will not insert this node, its own lookups still work",
			"why", st.ClientModeReason)
	}
	now := n.cfg.Clock.Now()
	s.mu.Lock()
	due := !s.checking && state != ReachPublic && state != ReachSymmetric && !now.Before(s.checkAt)
	if due {
		s.checking = true
		s.checkAt = now.Add(NATCheckInterval)
	}
	s.mu.Unlock()
	if due {
		s.spawn(n.checkReachability)
	}
	if state == ReachNAT && !st.ClientMode {
		n.keepRendezvous(now)
		n.selfLookupIfDue(now)
	} else if st.Rendezvous > 0 {
		s.mu.Lock()
		clear(s.rendezvous)
		s.mu.Unlock()
	}
}

// reannounce looks up our own ID, so that the nodes near it insert us.
func (n *Node) reannounce() {
	n.nat.spawn(func() {
		if _, err := n.maintenanceLookup(n.ctx, n.self); err != nil && n.ctx.Err() == nil {
			n.log.Debug("announcing ourselves after becoming public", "err", err)
		}
	})
}

// selfLookupIfDue looks up our own ID when due, so that nodes that joined
// near it since we last looked enter our table and can become our
// rendezvous: a lookup of our ID converges on the k nodes closest to it,
// and only a rendezvous among them hands us out. The pause starts at
// NATSelfLookupInterval and doubles, up to NATSelfLookupMaxInterval,
// while a lookup leaves the rendezvous we want unchanged; a change takes
// it back to the start. A growing network keeps it short, a settled one
// pays about one lookup per NATSelfLookupMaxInterval.
func (n *Node) selfLookupIfDue(now time.Time) {
	s := n.nat
	s.mu.Lock()
	if s.selfLookupEvery == 0 {
		s.selfLookupEvery, s.selfLookupAt = NATSelfLookupInterval, now.Add(NATSelfLookupInterval)
	}
	due := !s.selfLooking && !now.Before(s.selfLookupAt)
	s.selfLooking = s.selfLooking || due
	s.mu.Unlock()
	if !due {
		return
	}
	s.spawn(func() {
		before := contactIDs(n.rendezvousWanted())
		if _, err := n.maintenanceLookup(n.ctx, n.self); err != nil && n.ctx.Err() == nil {
			n.log.Debug("looking up our own ID for closer rendezvous", "err", err)
		}
		changed := !slices.Equal(before, contactIDs(n.rendezvousWanted()))
		s.mu.Lock()
		defer s.mu.Unlock()
		s.selfLooking = false
		s.selfLookups++
		if changed {
			s.selfLookupEvery = NATSelfLookupInterval
		} else {
			s.selfLookupEvery = min(2*s.selfLookupEvery, NATSelfLookupMaxInterval)
		}
		s.selfLookupAt = n.cfg.Clock.Now().Add(s.selfLookupEvery)
	})
}

// contactIDs lists the contacts' IDs in their order.
func contactIDs(cs []kad.Contact) []krpc.ID {
	ids := make([]krpc.ID, len(cs))
	for i, c := range cs {
		ids[i] = c.ID
	}
	return ids
}

// checkReachability asks up to NATCheckPeers contacts to have a third node
// dial us back with a fresh nonce, then waits for the nonce. Only a
// dial-back from an address we never sent to counts.
func (n *Node) checkReachability() {
	s := n.nat
	defer func() {
		s.mu.Lock()
		s.checking = false
		s.mu.Unlock()
	}()
	if _, _, _, voters := n.external.summary(); voters < 2 {
		// Too few views of our address to tell a cone from a symmetric
		// NAT: meet more nodes through a lookup of our own ID.
		if _, err := n.maintenanceLookup(n.ctx, n.self); err != nil && n.ctx.Err() == nil {
			n.log.Debug("lookup for more views of our address", "err", err)
		}
	}
	var nonce krpc.ID
	_, _ = rand.Read(nonce[:])
	s.mu.Lock()
	for id, exp := range s.nonces {
		if n.cfg.Clock.Now().After(exp) {
			delete(s.nonces, id)
		}
	}
	s.nonces[nonce] = n.cfg.Clock.Now().Add(NATCheckWait + NATDialBackTimeout)
	s.mu.Unlock()
	asked := 0
	for _, c := range n.table.Contacts() {
		if asked == NATCheckPeers || n.ctx.Err() != nil {
			break
		}
		if c.LastResponse.IsZero() {
			continue
		}
		ctx, done := sessionScope(n.ctx)
		_, _, _, err := n.call(ctx, c.Addr, &c.ID, kad.NATQuery(kad.MethodNATCheck, n.self, nonce, netip.AddrPort{}, n.roFlag()))
		done()
		if err == nil {
			asked++
		}
	}
	if asked == 0 {
		s.mu.Lock()
		s.checkAt = n.cfg.Clock.Now().Add(NATTick) // nobody to ask yet
		s.mu.Unlock()
		return
	}
	t := time.NewTimer(NATCheckWait)
	defer t.Stop()
	select {
	case <-s.nonceCh:
		return
	case <-t.C:
	case <-n.ctx.Done():
		return
	}
	s.mu.Lock()
	if !s.verified {
		s.failed++
	}
	s.mu.Unlock()
}

// rendezvousWanted is the NATRendezvousCount contacts closest to our own
// ID that answered us and are not NAT'd themselves.
func (n *Node) rendezvousWanted() []kad.Contact {
	var near []kad.Contact
	n.table.visitClosest(n.self, 4*NATRendezvousCount, func(c *kad.Contact) {
		if !c.LastResponse.IsZero() {
			near = append(near, *c)
		}
	})
	s := n.nat
	s.mu.Lock()
	defer s.mu.Unlock()
	want := near[:0]
	for _, c := range near {
		if _, natted := s.natted[c.ID]; !natted && len(want) < NATRendezvousCount {
			want = append(want, c)
		}
	}
	return want
}

// keepRendezvous registers with the rendezvousWanted contacts, each once
// per keepalive interval: that keeps our NAT's mapping towards them open,
// and their sessions with us busy enough for the idle reaper to leave
// them.
func (n *Node) keepRendezvous(now time.Time) {
	s := n.nat
	want := n.rendezvousWanted()
	s.mu.Lock()
	keep := make(map[krpc.ID]bool, len(want))
	var due []kad.Contact
	for _, c := range want {
		keep[c.ID] = true
		if r, ok := s.rendezvous[c.ID]; !ok || now.Sub(r.last) >= s.cfg.Keepalive || r.addr != c.Addr {
			due = append(due, c)
		}
	}
	for id := range s.rendezvous {
		if !keep[id] {
			delete(s.rendezvous, id)
		}
	}
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, c := range due {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithCancel(n.ctx)
			defer cancel()
			_, _, _, err := n.call(ctx, c.Addr, &c.ID, kad.NATQuery(kad.MethodNATRegister, n.self, krpc.ID{}, netip.AddrPort{}, false))
			s.mu.Lock()
			defer s.mu.Unlock()
			if err != nil {
				delete(s.rendezvous, c.ID)
				return
			}
			s.rendezvous[c.ID] = rendezvousEntry{addr: c.Addr, last: n.cfg.Clock.Now()}
		}()
	}
	wg.Wait()
}
