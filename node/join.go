package node

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sync"
	"time"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/kadnode/kadnode/kad"
)

// joinLoop runs the join until it succeeds, backing off between attempts,
// then revalidates the contacts the store gave back. Afterwards it joins
// again whenever the table goes empty (every contact evicted), through the
// seeds and the last contacts the table held, since an empty table cannot
// look anything up.
func (n *Node) joinLoop() {
	defer n.wg.Done()
	known := n.loaded
	if len(n.cfg.Seeds) > 0 || len(known) > 0 {
		if !n.joinUntilDone(known) {
			return
		}
		n.revalidateLoaded(n.ctx)
	} // else the first node of a network: joined at start
	for {
		var ok bool
		if known, ok = n.waitEmptyTable(known); !ok {
			return
		}
		n.log.Info("routing table is empty; joining again", "seeds", len(n.cfg.Seeds), "last_contacts", len(known))
		if !n.joinUntilDone(known) {
			return
		}
	}
}

// joinUntilDone runs the join through the seeds and known until it
// succeeds, backing off between attempts. It returns false when the node
// closes first.
func (n *Node) joinUntilDone(known []kad.Contact) bool {
	backoff := JoinBackoffMin
	for attempt := 1; ; attempt++ {
		err := n.join(n.ctx, known)
		if err == nil {
			return true
		}
		if n.ctx.Err() != nil {
			return false
		}
		if len(n.cfg.Seeds) == 0 && !n.isJoined() {
			// Without seeds nobody would ever let us back in; serve as a
			// first node so that whoever calls us gets inserted, and keep
			// trying the old contacts.
			n.log.Warn("no stored contact answered and no seeds are configured; serving as the first node of a network", "contacts", len(known))
			n.markJoined()
		}
		wait := jitter(backoff, JoinBackoffJitter)
		n.log.Warn("join failed; retrying", "attempt", attempt, "retry_in", wait.Round(time.Millisecond), "err", err)
		if !n.sleep(wait) {
			return false
		}
		backoff = min(2*backoff, JoinBackoffMax)
	}
}

// waitEmptyTable checks every EmptyTableCheckInterval until the table is
// empty and there is someone to join through, and returns the last
// contacts the table held (known until it held any), as many as a join
// pings. It returns false when the node closes.
func (n *Node) waitEmptyTable(known []kad.Contact) ([]kad.Contact, bool) {
	// The check runs for the node's whole life: it reuses one buffer and
	// copies only the contacts a rejoin would ping, not the whole table.
	var last []kad.Contact
	for n.sleep(EmptyTableCheckInterval) {
		if cs := n.table.appendContacts(last[:0], MaxBootstrapContacts); len(cs) > 0 {
			last, known = cs, cs
			continue
		}
		if len(n.cfg.Seeds) > 0 || len(known) > 0 {
			return known, true
		}
	}
	return nil, false
}

// join is the paper's join: make contact (seeds, and the known contacts
// when the table is empty, as after a restart), look up our own ID, which
// makes every node on the way insert us, then refresh every bucket farther
// than our closest neighbour.
func (n *Node) join(ctx context.Context, known []kad.Contact) error {
	if n.table.Len() > 0 {
		known = nil
	}
	answered := n.contactBootstrap(ctx, known)
	if answered == 0 && n.table.Len() == 0 {
		return fmt.Errorf("none of %d seeds and %d stored contacts answered", len(n.cfg.Seeds), len(known))
	}
	res, err := n.lookup(ctx, n.self)
	if err != nil && !errors.Is(err, ErrNoContacts) {
		return err
	}
	if res.Stats.Responses == 0 {
		return fmt.Errorf("nobody answered the lookup of our own ID (%d queries, %d timeouts)", res.Stats.Queries, res.Stats.Timeouts)
	}
	n.markJoined()
	n.log.Info("joined", "contacts", n.table.Len(), "lookup_responses", res.Stats.Responses, "duration", res.Stats.Duration)
	for b := n.table.ClosestNonEmptyBucket() + 1; b >= 1 && b < NumBuckets; b++ {
		if _, err := n.lookup(ctx, RandomIDInBucket(n.self, b, nil)); err != nil && ctx.Err() != nil {
			return nil // closing; the join itself is done
		}
	}
	return nil
}

// bootstrapTarget is one address to make first contact with.
type bootstrapTarget struct {
	endpoint kad.Endpoint // as configured, for resolving and logs
	addr     netip.AddrPort
	expect   *krpc.ID
}

// contactBootstrap pings the seeds and up to MaxBootstrapContacts of
// known (contacts from the store, or the table's last ones, whose entries
// may have been evicted since), and inserts whoever answers. It returns
// how many answered.
func (n *Node) contactBootstrap(ctx context.Context, known []kad.Contact) int {
	var targets []bootstrapTarget
	for _, s := range n.cfg.Seeds {
		targets = append(targets, bootstrapTarget{endpoint: s, expect: expectedID(s)})
	}
	for i, c := range known {
		if i == MaxBootstrapContacts {
			break
		}
		id := c.ID
		targets = append(targets, bootstrapTarget{addr: c.Addr, expect: &id})
	}
	var (
		mu       sync.Mutex
		answered int
		wg       sync.WaitGroup
		sem      = make(chan struct{}, n.cfg.Alpha)
	)
	for _, t := range targets {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			addr := t.addr
			if !addr.IsValid() {
				var err error
				if addr, err = t.endpoint.Resolve(ctx); err != nil {
					n.log.Warn("seed unusable", "seed", t.endpoint.String(), "err", err)
					return
				}
			}
			peer, _, err := n.pingAddr(ctx, addr, t.expect)
			if err != nil {
				n.log.Debug("bootstrap contact did not answer", "addr", addr, "err", err)
				return
			}
			n.table.Responded(peer)
			mu.Lock()
			answered++
			mu.Unlock()
		}()
	}
	wg.Wait()
	return answered
}

// revalidateLoaded pings, α at a time, every contact restored from the
// store that has not answered since we started, so that the ones that
// left are dropped soon instead of waiting their turn.
func (n *Node) revalidateLoaded(ctx context.Context) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, n.cfg.Alpha)
	for _, c := range n.loaded {
		cur, ok := n.table.Get(c.ID)
		if !ok || cur.LastResponse.After(c.LastResponse) {
			continue // gone already, or answered during the rejoin
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			n.revalidate(ctx, cur.ID, cur.Addr)
		}()
	}
	wg.Wait()
}

// revalidate pings one contact: an answer refreshes it, silence counts
// as a failure.
func (n *Node) revalidate(ctx context.Context, id krpc.ID, addr netip.AddrPort) {
	peer, _, err := n.pingAddr(ctx, addr, &id)
	if err != nil {
		n.failed(ctx, id, err)
		return
	}
	n.table.Responded(peer)
}

// sleep waits d, or returns false if the node closes first.
func (n *Node) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-n.ctx.Done():
		return false
	}
}

// jitter spreads d uniformly over d·(1±frac), so that nodes started
// together do not act together.
func jitter(d time.Duration, frac float64) time.Duration {
	return time.Duration(float64(d) * (1 + frac*(2*rand.Float64()-1)))
}
