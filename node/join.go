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

// joinState is the join task's own state; only its runs touch it, one
// at a time.
type joinState struct {
	// pending is set while a join is due: at start when there are seeds
	// or stored contacts, and when the table went empty.
	pending bool
	// known are the contacts to join through besides the seeds: those the
	// store gave back, later the last members to leave the table.
	known   []kad.Contact
	backoff time.Duration
	attempt int
	// revalidateLoaded is set until the first join is done: then the
	// contacts restored from the store are revalidated.
	revalidateLoaded bool
}

// startJoin arms the join task: the join at once when there is anyone
// to join through, else (the first node of a network, joined at start)
// only the check for an empty table.
func (n *Node) startJoin() {
	j := &n.joinSt
	j.known = n.loaded
	j.pending = len(n.cfg.Seeds) > 0 || len(j.known) > 0
	j.revalidateLoaded = j.pending
	j.backoff = JoinBackoffMin
	first := EmptyTableCheckInterval
	if j.pending {
		first = 0
	}
	task := n.tasks.Every(first, n.joinStep)
	n.table.setOnEmpty(task.Kick)
}

// joinStep is one run of the join task. While a join is due it tries
// once and returns the backoff before the next try. Once joined, and
// after the restored contacts were revalidated, it runs when the table
// goes empty (every contact evicted: the table kicks the task), and at
// least every EmptyTableCheckInterval; it then joins again through the
// seeds and the last members to leave the table, since an empty table
// cannot look anything up.
func (n *Node) joinStep() time.Duration {
	j := &n.joinSt
	if !j.pending {
		if n.table.Len() > 0 {
			return EmptyTableCheckInterval
		}
		if d := n.table.departedContacts(); len(d) > 0 {
			j.known = d
		}
		if len(n.cfg.Seeds) == 0 && len(j.known) == 0 {
			return EmptyTableCheckInterval
		}
		n.log.Info("routing table is empty; joining again", "seeds", len(n.cfg.Seeds), "last_contacts", len(j.known))
		j.pending, j.backoff, j.attempt = true, JoinBackoffMin, 0
	}
	j.attempt++
	err := n.join(n.ctx, j.known)
	if n.ctx.Err() != nil {
		return -1
	}
	if err != nil {
		if len(n.cfg.Seeds) == 0 && !n.isJoined() {
			// Without seeds nobody would ever let us back in; serve as a
			// first node so that whoever calls us gets inserted, and keep
			// trying the old contacts.
			n.log.Warn("no stored contact answered and no seeds are configured; serving as the first node of a network", "contacts", len(j.known))
			n.markJoined()
		}
		wait := jitter(j.backoff, JoinBackoffJitter)
		n.log.Warn("join failed; retrying", "attempt", j.attempt, "retry_in", wait.Round(time.Millisecond), "err", err)
		j.backoff = min(2*j.backoff, JoinBackoffMax)
		return wait
	}
	j.pending = false
	if j.revalidateLoaded {
		j.revalidateLoaded = false
		n.revalidateLoaded(n.ctx)
	}
	n.markJoinDone()
	return EmptyTableCheckInterval
}

// join is the paper's join: make contact (seeds, and the known contacts
// when the table is empty, as after a restart), look up our own ID, which
// makes every node on the way insert us, then refresh every bucket farther
// than our closest neighbour.
func (n *Node) join(ctx context.Context, known []kad.Contact) error {
	ctx, done := sessionScope(ctx)
	defer done()
	if n.table.Len() > 0 {
		known = nil
	}
	answered := n.contactBootstrap(ctx, known)
	if answered == 0 && n.table.Len() == 0 {
		return fmt.Errorf("none of %d seeds and %d stored contacts answered", len(n.cfg.Seeds), len(known))
	}
	res, err := n.maintenanceLookup(ctx, n.self)
	if err != nil && !errors.Is(err, ErrNoContacts) {
		return err
	}
	if res.Stats.Responses == 0 {
		return fmt.Errorf("nobody answered the lookup of our own ID (%d queries, %d timeouts)", res.Stats.Queries, res.Stats.Timeouts)
	}
	n.markJoined()
	n.log.Info("joined", "contacts", n.table.Len(), "lookup_responses", res.Stats.Responses, "duration", res.Stats.Duration)
	for b := n.table.ClosestNonEmptyBucket() + 1; b >= 1 && b < NumBuckets; b++ {
		if _, err := n.maintenanceLookup(ctx, RandomIDInBucket(n.self, b, nil)); err != nil && ctx.Err() != nil {
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
	pctx, done := sessionScope(ctx)
	peer, _, err := n.pingAddr(pctx, addr, &id)
	done()
	if err != nil {
		n.failed(ctx, id, err)
		return
	}
	n.table.Responded(peer)
}

// jitter spreads d uniformly over d·(1±frac), so that nodes started
// together do not act together.
func jitter(d time.Duration, frac float64) time.Duration {
	return time.Duration(float64(d) * (1 + frac*(2*rand.Float64()-1)))
}
