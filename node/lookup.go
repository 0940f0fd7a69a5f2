package node

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"time"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/kadnode/kadnode/kad"
)

// candidateState is where a lookup candidate is in its query's life.
type candidateState uint8

const (
	candFresh    candidateState = iota // learned, not queried yet
	candWaiting                        // queried, counts against α
	candSlow                           // queried, past the adaptive timeout: no longer counts against α
	candAnswered                       // gave a valid reply
	candFailed                         // timed out, errored or gave an unusable reply
)

// candidate is one node a lookup knows of. Nodes learned from replies are
// only candidates: they reach the table once they answer us themselves.
type candidate struct {
	id    krpc.ID
	addr  netip.AddrPort
	state candidateState
	round int // hops from the table: 1 for our own contacts
	rtt   time.Duration
	vias  []kad.Peer // the rendezvous that gave it out with port 0, first first; fixed once queried (natlookup.go)
	// prepared is set once a handshake with it was started ahead of its
	// query (prepare.go).
	prepared bool
}

// queryResult is one finished find_node of a lookup.
type queryResult struct {
	c     *candidate
	peer  kad.Peer
	reply *krpc.Msg
	err   error
	rtt   time.Duration
}

// lookup is the state of one iterative lookup (the paper's node lookup,
// with strict termination: it ends only when the k closest nodes seen have
// all answered or failed).
type lookup struct {
	n      *Node
	ctx    context.Context // the queries' context: ends when the lookup does
	target krpc.ID
	cands  []*candidate // sorted by distance to target; an ID's place is unique
	// skipped are rendezvous contacts left out (natlookup.go), so that
	// each is skipped and counted once.
	skipped map[krpc.ID]struct{}
	stats   LookupStats
	values  *valueLookup // a BEP 44 get lookup; nil for find_node
	// transient is ctx marked for the queries (kad.Transient): a session
	// a query opens closes when the lookup ends, unless the lookup's keep
	// says otherwise (lookupWith).
	transient context.Context
}

// Lookup runs an iterative lookup for target.
func (n *Node) Lookup(ctx context.Context, target krpc.ID) (LookupResult, error) {
	ctx, cancel := n.withClose(ctx)
	defer cancel()
	res, err := n.lookup(ctx, target)
	if n.cfg.OnLookup != nil {
		n.cfg.OnLookup(res)
	}
	return res, err
}

// lookup runs the iterative lookup. On a cancelled or expired ctx it
// returns what it found so far together with the context's error.
// Sessions its queries open to table members stay open for the next query.
func (n *Node) lookup(ctx context.Context, target krpc.ID) (LookupResult, error) {
	return n.lookupWith(ctx, target, nil, n.inTable)
}

// maintenanceLookup is lookup for the join and the NAT loop's lookups of
// our own ID: it keeps none of the sessions its queries open, table
// members included. They close when the scope in ctx ends (sessionScope:
// the whole join), or when the lookup ends if ctx has none. A join meets
// a bucket's worth of nodes once, and the next query to most of them
// comes minutes later (BENCHMARKS.md, "Sessions of maintenance"). The
// bucket refreshes keep the sessions to members, like an operator's
// lookup: with a short refresh interval (the testnets' 20 s) the next
// round reuses them, and with the default hour they idle out anyway.
func (n *Node) maintenanceLookup(ctx context.Context, target krpc.ID) (LookupResult, error) {
	return n.lookupWith(ctx, target, nil, nil)
}

// lookupWith runs the iterative lookup with find_node, or with get when v
// is non-nil (v collects tokens and items, and may end the lookup early).
// keep says which of the sessions its queries open outlive it
// (kad.Transient); nil keeps none.
func (n *Node) lookupWith(ctx context.Context, target krpc.ID, v *valueLookup, keep func(krpc.ID) bool) (LookupResult, error) {
	start := time.Now()
	n.markLookup(target)
	qctx, cancelQueries := context.WithCancel(ctx)
	defer cancelQueries()
	l := &lookup{n: n, ctx: qctx, transient: kad.Transient(qctx, keep), target: target, values: v}
	n.table.visitClosest(target, n.cfg.K, func(c *kad.Contact) {
		if n.lookupUsable(c.ID, c.Addr) {
			l.add(c.ID, c.Addr, 1)
		}
	})
	if len(l.cands) == 0 {
		return l.result(start), ErrNoContacts
	}
	results := make(chan queryResult)
	slow := make(chan *candidate)
	inFlight, pending := 0, 0 // inFlight counts against α; pending is every running query
	for {
		for inFlight < n.cfg.Alpha {
			c := l.next()
			if c == nil {
				break
			}
			c.state = candWaiting
			inFlight++
			pending++
			l.stats.Queries++
			n.startQuery(l.transient, c, l.query, results, slow)
		}
		l.prepareNext()
		if l.done() || l.values.stopped() || ctx.Err() != nil {
			break
		}
		select {
		case r := <-results:
			pending--
			if r.c.state == candWaiting {
				inFlight--
			}
			l.handle(r)
		case c := <-slow:
			if c.state == candWaiting {
				c.state = candSlow
				inFlight--
			}
		case <-ctx.Done():
		}
	}
	// Queries to nodes that fell out of the k closest, or all of them when
	// ctx ended: cancel and wait, so that no goroutine outlives the lookup.
	cancelQueries()
	for pending > 0 {
		select {
		case r := <-results:
			pending--
			if r.err == nil {
				l.handle(r) // a reply that raced the cancel still counts
			}
		case <-slow:
		}
	}
	return l.result(start), ctx.Err()
}

// query builds the lookup's next query (a new message each time: the
// transport sets its transaction ID).
func (l *lookup) query() *krpc.Msg {
	if l.values != nil {
		return kad.GetQuery(l.n.self, l.target, l.n.roFlag())
	}
	return kad.FindNodeQuery(l.n.self, l.target, l.n.roFlag())
}

// method is the lookup's query method, for the counters.
func (l *lookup) method() string {
	if l.values != nil {
		return kad.MethodGet
	}
	return kad.MethodFindNode
}

// startQuery queries c with the message query builds, in its own
// goroutine. It reports the outcome on results, and on slow when the
// adaptive timeout passes first.
func (n *Node) startQuery(ctx context.Context, c *candidate, query func() *krpc.Msg, results chan<- queryResult, slow chan<- *candidate) {
	soft := n.rtt.timeout(MinQueryTimeout, n.cfg.RPCTimeout)
	id, addr, vias := c.id, c.addr, c.vias
	go func() {
		timer := time.AfterFunc(soft, func() {
			select {
			case slow <- c:
			case <-ctx.Done():
			}
		})
		var (
			peer  kad.Peer
			reply *krpc.Msg
			rtt   time.Duration
			err   error
		)
		if len(vias) > 0 {
			addr, err = n.natConnectVia(ctx, vias, id)
		}
		if err == nil {
			peer, reply, rtt, err = n.call(ctx, addr, &id, query())
		}
		timer.Stop()
		results <- queryResult{c: c, peer: peer, reply: reply, err: err, rtt: rtt}
	}()
}

// handle folds one query outcome into the lookup and the table.
func (l *lookup) handle(r queryResult) {
	n := l.n
	c := r.c
	if r.err != nil {
		c.state = candFailed
		if l.ctx.Err() != nil {
			return // we gave up on it: says nothing about the peer
		}
		outcome := outcomeOf(r.err)
		n.rpcsOut.add(l.method(), outcome)
		if outcome == outcomeTimeout {
			l.stats.Timeouts++
		}
		n.failed(l.ctx, c.id, r.err)
		return
	}
	if err := n.checkReply(r.peer, &c.id, r.reply); err != nil {
		c.state = candFailed
		n.log.Debug("unusable lookup reply", "method", l.method(), "peer", c.id, "addr", c.addr, "err", err)
		n.rpcsOut.add(l.method(), outcomeError)
		return
	}
	n.rpcsOut.add(l.method(), outcomeOK)
	if len(c.vias) > 0 {
		c.addr = r.peer.Addr
		n.nat.markNATted(c.id, n.cfg.Clock.Now())
	}
	n.learn(r.peer, r.reply, r.rtt)
	n.table.Responded(r.peer)
	c.state = candAnswered
	c.rtt = r.rtt
	l.stats.Responses++
	l.stats.Rounds = max(l.stats.Rounds, c.round)
	learned := 0
	r.reply.R.ForAllNodes(func(ni krpc.NodeInfo) {
		if learned >= MaxNodesPerReply {
			return
		}
		learned++
		addr, ok := nodeAddr(ni.Addr)
		if !ok {
			l.addRendezvous(ni, c)
			return
		}
		l.add(ni.ID, addr, c.round+1)
	})
	l.values.reply(c.id, r.reply)
}

// add makes id a candidate unless it is known already or is us, and
// returns the new candidate (nil when none was made).
func (l *lookup) add(id krpc.ID, addr netip.AddrPort, round int) *candidate {
	if id == l.n.self || addr == l.n.listen {
		return nil
	}
	i, found := l.place(id)
	if _, skipped := l.skipped[id]; found || skipped {
		return nil
	}
	c := &candidate{id: id, addr: addr, round: round}
	l.cands = slices.Insert(l.cands, i, c)
	return c
}

// place is id's position among the candidates, and whether it is there.
// XOR distance to the target is one-to-one, so the search by distance
// finds the ID itself: no set of seen IDs is needed.
func (l *lookup) place(id krpc.ID) (int, bool) {
	return slices.BinarySearchFunc(l.cands, id, func(c *candidate, id krpc.ID) int {
		return CompareDistance(l.target, c.id, id)
	})
}

// candidate returns id's candidate, or nil.
func (l *lookup) candidate(id krpc.ID) *candidate {
	if i, found := l.place(id); found {
		return l.cands[i]
	}
	return nil
}

// closest calls f on the k closest candidates that have not failed, in
// order, until f returns false.
func (l *lookup) closest(f func(*candidate) bool) {
	k := 0
	for _, c := range l.cands {
		if c.state == candFailed {
			continue
		}
		if !f(c) {
			return
		}
		if k++; k == l.n.cfg.K {
			return
		}
	}
}

// next returns the closest candidate among the k closest that was not
// queried yet, or nil.
func (l *lookup) next() *candidate {
	var next *candidate
	l.closest(func(c *candidate) bool {
		if c.state == candFresh {
			next = c
			return false
		}
		return true
	})
	return next
}

// done reports whether the k closest candidates have all answered.
func (l *lookup) done() bool {
	done := true
	l.closest(func(c *candidate) bool {
		done = c.state == candAnswered
		return done
	})
	return done
}

func (l *lookup) result(start time.Time) LookupResult {
	res := LookupResult{Target: l.target}
	for _, c := range l.cands {
		if c.state != candAnswered {
			continue
		}
		if c.id == l.target {
			res.Found, res.Addr = true, c.addr
		}
		if len(res.Closest) < l.n.cfg.K {
			res.Closest = append(res.Closest, Responder{ID: c.id, Addr: c.addr, RTT: c.rtt})
		}
	}
	l.stats.Duration = time.Since(start)
	res.Stats = l.stats
	return res
}

// nodeAddr converts an address from a nodes list, rejecting ones no node
// can listen on.
func nodeAddr(na krpc.NodeAddr) (netip.AddrPort, bool) {
	addr, ok := addrPortOf(na)
	return addr, ok && usableAddr(addr)
}

// addrPortOf converts a KRPC address, unmapping an IPv4-mapped IP; false
// when the IP or the port is missing or out of range.
func addrPortOf(na krpc.NodeAddr) (netip.AddrPort, bool) {
	addr, ok := netip.AddrFromSlice(na.IP)
	if !ok || na.Port <= 0 || na.Port > 0xffff {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(addr.Unmap(), uint16(na.Port)), true
}

// isTimeout reports whether err means the peer did not answer in time.
func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var te interface{ Timeout() bool }
	return errors.As(err, &te) && te.Timeout()
}
