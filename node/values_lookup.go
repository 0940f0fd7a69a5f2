package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/kadnode/kadnode/kad"
)

// valueLookup is what a get lookup collects on top of find_node's: the
// write token of each node that answered, and the best item seen (the
// first valid immutable one, or the valid mutable one of highest seq).
// Its methods run on the lookup's own goroutine.
type valueLookup struct {
	target    krpc.ID
	salt      []byte // the mutable item's salt, which get replies do not carry
	stopOnHit bool   // a get ends at the first immutable item

	tokens  map[krpc.ID]string
	best    *kad.Item
	holders int // replies that carried best (its seq, for a mutable item)
	invalid int // replies whose item failed its checks
	stop    bool
}

func newValueLookup(target krpc.ID, salt []byte, stopOnHit bool) *valueLookup {
	return &valueLookup{target: target, salt: salt, stopOnHit: stopOnHit, tokens: make(map[krpc.ID]string)}
}

// stopped reports whether the lookup found what ends it early.
func (v *valueLookup) stopped() bool { return v != nil && v.stop }

// reply takes the token and the item of one valid get reply. An item is
// taken only if it is at the target and passes BEP 44's checks, so a node
// cannot answer with a forged or stale item in place of the latest one.
func (v *valueLookup) reply(from krpc.ID, m *krpc.Msg) {
	if v == nil || m == nil || m.R == nil {
		return
	}
	if m.R.Token != nil {
		v.tokens[from] = *m.R.Token
	}
	it := kad.ReplyItem(m.R)
	if it == nil {
		return
	}
	if it.Mutable() {
		it.Salt = v.salt
	}
	if it.Target() != v.target || it.Check() != nil {
		v.invalid++
		return
	}
	v.offer(it)
}

// offer takes it as the best item if it is newer.
func (v *valueLookup) offer(it *kad.Item) {
	switch {
	case v.best == nil || (it.Mutable() && it.Seq > v.best.Seq):
		v.best, v.holders = it, 1
	case !it.Mutable() || it.Seq == v.best.Seq:
		v.holders++
	}
	if !it.Mutable() && v.stopOnHit {
		v.stop = true
	}
}

// GetResult is the outcome of GetItem.
type GetResult struct {
	Target  krpc.ID
	Item    *kad.Item // nil: not found
	Holders int       // nodes that returned it (for a mutable item, at its seq)
	Local   bool      // this node holds it
	Invalid int       // replies with an item that failed BEP 44's checks
	Stats   LookupStats
}

// GetItem looks up the item at target: an immutable one ends the lookup
// at the first node that holds it; for a mutable one (salt is its salt)
// the lookup runs to the end and keeps the highest valid seq.
func (n *Node) GetItem(ctx context.Context, target krpc.ID, salt []byte) (GetResult, error) {
	ctx, cancel := n.withClose(ctx)
	defer cancel()
	res := GetResult{Target: target}
	v := newValueLookup(target, salt, true)
	if it, ok := n.vals.table.get(target, n.cfg.Clock.Now()); ok && (!it.Mutable() || bytes.Equal(it.Salt, salt)) {
		res.Local = true
		v.offer(&it)
		if v.stop {
			res.Item, res.Holders = v.best, v.holders
			return res, nil
		}
	}
	lr, err := n.lookupWith(ctx, target, v, n.inTable)
	res.Item, res.Holders, res.Invalid, res.Stats = v.best, v.holders, v.invalid, lr.Stats
	if res.Item != nil {
		err = nil // found: the contacts that failed do not matter
	}
	return res, err
}

// PutResult is the outcome of PutItem.
type PutResult struct {
	Target krpc.ID
	Stored int         // nodes that stored it (this one included, when among the closest)
	Tried  int         // nodes a put was sent to: the k closest that gave a token
	Errors map[int]int // refusals by KRPC error code (e.g. 302: they hold a newer seq)
	Latest *kad.Item   // the newest version the lookup saw, if any
	Stats  LookupStats
}

// PutItem stores it on the k closest nodes to its target that gave a
// write token, with cas (0: none) for a mutable item, and republishes it
// every RepublishInterval while the node runs (and after a restart).
func (n *Node) PutItem(ctx context.Context, it kad.Item, cas int64) (PutResult, error) {
	if e := it.Check(); e != nil {
		return PutResult{Target: it.Target()}, fmt.Errorf("item refused before sending (code %d): %s", e.Code, e.Msg)
	}
	ctx, cancel := n.withClose(ctx)
	defer cancel()
	res, err := n.put(ctx, it, cas)
	if res.Stored > 0 {
		n.vals.table.setOwn(res.Target, &it, n.cfg.Clock.Now().Add(n.vals.table.cfg.RepublishInterval))
	}
	return res, err
}

// put runs a get lookup for the target, then puts it to the k closest that
// answered with a token, and on this node if it is one of the k closest;
// a mutable item older than one the lookup met is not sent at all.
func (n *Node) put(ctx context.Context, it kad.Item, cas int64) (PutResult, error) {
	target := it.Target()
	res := PutResult{Target: target, Errors: map[int]int{}}
	v := newValueLookup(target, it.Salt, false)
	lr, err := n.lookupWith(ctx, target, v, n.inTable)
	res.Stats, res.Latest = lr.Stats, v.best
	if err != nil && len(lr.Closest) == 0 {
		if !errors.Is(err, ErrNoContacts) {
			return res, err
		}
	}
	if newer := v.best; it.Mutable() && newer != nil && newer.Seq > it.Seq {
		// The holders refuse it, and a node that never got the newer
		// version must not be handed the stale one either.
		res.Errors[krpc.ErrorCodeSequenceNumberLessThanCurrent]++
		return res, fmt.Errorf("put refused before sending: the network holds seq %d, newer than this item's %d (code %d)",
			newer.Seq, it.Seq, krpc.ErrorCodeSequenceNumberLessThanCurrent)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, c := range lr.Closest {
		tok, ok := v.tokens[c.ID]
		if !ok {
			continue
		}
		res.Tried++
		wg.Go(func() {
			id := c.ID
			peer, reply, _, err := n.call(ctx, c.Addr, &id, kad.PutQuery(n.self, tok, &it, cas, n.roFlag()))
			if err == nil {
				err = n.checkReply(peer, &id, reply)
			}
			mu.Lock()
			defer mu.Unlock()
			var kerr *krpc.Error
			switch {
			case err == nil:
				n.rpcsOut.add(kad.MethodPut, outcomeOK)
				res.Stored++
			case errors.As(err, &kerr):
				n.rpcsOut.add(kad.MethodPut, outcomeError)
				res.Errors[kerr.Code]++
			default:
				n.rpcsOut.add(kad.MethodPut, outcomeOf(err))
			}
		})
	}
	wg.Wait()
	if !n.cfg.ReadOnly && n.amongClosest(target, lr.Closest) {
		if e := n.vals.table.put(it, cas, n.listen.Addr(), n.cfg.Clock.Now()); e == nil {
			res.Stored++
		} else {
			res.Errors[e.Code]++
		}
	}
	if res.Stored == 0 {
		if err == nil {
			err = fmt.Errorf("no node stored the item (%d tried, refusals by code %v)", res.Tried, res.Errors)
		}
		return res, err
	}
	return res, nil
}

// amongClosest reports whether this node is one of the k closest to
// target, given the k closest others that answered.
func (n *Node) amongClosest(target krpc.ID, closest []Responder) bool {
	if len(closest) < n.cfg.K {
		return true
	}
	return CompareDistance(target, n.self, closest[len(closest)-1].ID) < 0
}

// valuesStep is one run of the values task: it drops expired items and
// republishes the items this node put, and the held items nobody put for
// a RepublishInterval (the paper's rule: so they reach new nodes closer
// to them).
func (n *Node) valuesStep() time.Duration {
	n.republish()
	return n.valuesCheckInterval()
}

// valuesCheckInterval is the pause between two runs of the values task.
func (n *Node) valuesCheckInterval() time.Duration {
	return min(ValuesCheckInterval, n.vals.table.cfg.RepublishInterval/4)
}

// republish is one check of the values task.
func (n *Node) republish() {
	tbl := n.vals.table
	now := n.cfg.Clock.Now()
	tbl.expire(now)
	if !n.isJoined() {
		return
	}
	for _, it := range tbl.dueOwn(now, MaxRepublishPerCheck) {
		if _, err := n.PutItem(n.ctx, it, 0); err != nil && n.ctx.Err() == nil {
			n.log.Debug("republishing an own item failed", "target", it.Target(), "err", err)
			// Try again at the next interval rather than every check.
			tbl.setOwn(it.Target(), &it, now.Add(tbl.cfg.RepublishInterval))
		}
	}
	for _, it := range tbl.dueHeld(now, MaxRepublishPerCheck) {
		if n.ctx.Err() != nil {
			return
		}
		if _, err := n.put(n.ctx, it, 0); err != nil {
			n.log.Debug("handing on a held item failed", "target", it.Target(), "err", err)
		}
		tbl.renewed(it.Target(), now)
	}
}
