package main

import (
	"context"
	"crypto/sha1"
	"fmt"
	"sync"

	"github.com/anacrolix/dht/v2"
	"github.com/anacrolix/dht/v2/bep44"
	knearest "github.com/anacrolix/dht/v2/k-nearest-nodes"
	"github.com/anacrolix/dht/v2/krpc"
	"github.com/anacrolix/dht/v2/traversal"
)

// anacrolix v2.23.0 answers a get with the nodes closest to the query's
// info_hash, which a get does not carry (it carries target), so its get
// replies lead toward the zero ID whatever the target, and its own get and
// put traversals find the nodes near an item only by chance. The routed
// system is the same traversal (getput's α = 15, K = 8, token filter, stop
// at the first immutable hit), with each get also carrying info_hash =
// target so that the replies route, and asking for IPv4 nodes only (the
// nodes6 list repeats IPv4 nodes as IPv4-mapped IPv6 addresses, which the
// traversal takes for other nodes). It stores its own copies of the items
// (routedItem) on the same network.

// routedItem is it under a target of its own: a value and, for a mutable
// item, a salt that the other anacrolix system does not use.
func routedItem(it valueItem) valueItem {
	it.value = append([]byte("routed "), it.value...)
	if it.mutable() {
		it.salt = append([]byte("routed "), it.salt...)
	}
	return it
}

func (a *anacrolixNet) routedValueSystem() valueSystem {
	return valueSystem{put: a.putRouted, get: a.getRouted}
}

// routedResult is what a routed get traversal found.
type routedResult struct {
	found bool
	v     []byte // bencoded
	seq   int64
}

// routedGet runs the traversal from s; with stopOnHit it ends at the first
// immutable item, else it runs until it stalls, keeping the highest seq.
func routedGet(ctx context.Context, s *dht.Server, target bep44.Target, salt []byte, stopOnHit bool) (routedResult, *traversal.Operation) {
	var mu sync.Mutex
	res := routedResult{seq: -1}
	hit := make(chan struct{}, 1)
	op := traversal.Start(traversal.OperationInput{
		Alpha:      getputAlpha,
		Target:     target,
		NodeFilter: s.TraversalNodeFilter,
		DoQuery: func(ctx context.Context, addr krpc.NodeAddr) traversal.QueryResult {
			qr := s.Query(ctx, dht.NewAddr(addr.UDP()), "get", dht.QueryInput{MsgArgs: krpc.MsgArgs{
				ID: s.ID(), Target: target, InfoHash: target, Want: []krpc.Want{krpc.WantNodes}}})
			if r := qr.Reply.R; r != nil && r.V != nil {
				mu.Lock()
				switch {
				case sha1.Sum(r.V) == target:
					res = routedResult{found: true, v: r.V}
					select {
					case hit <- struct{}{}:
					default:
					}
				case r.Seq != nil && *r.Seq > res.seq && sha1.Sum(append(r.K[:], salt...)) == target &&
					bep44.Verify(r.K[:], salt, *r.Seq, r.V, r.Sig[:]):
					res = routedResult{found: true, v: r.V, seq: *r.Seq}
				}
				mu.Unlock()
			}
			tqr := qr.TraversalQueryResult(addr)
			// As getput: only nodes that gave a token count among the closest.
			if _, ok := tqr.ClosestData.(string); !ok {
				tqr.ResponseFrom = nil
			}
			return tqr
		},
	})
	if nodes, err := s.TraversalStartingNodes(); err == nil {
		op.AddNodes(nodes)
	}
	var stop <-chan struct{}
	if stopOnHit {
		stop = hit
	}
	select {
	case <-op.Stalled():
	case <-stop:
	case <-ctx.Done():
	}
	op.Stop()
	mu.Lock()
	defer mu.Unlock()
	return res, op
}

func (a *anacrolixNet) putRouted(ctx context.Context, from int, it valueItem) valueOutcome {
	it = routedItem(it)
	return a.counted(from, it, func(s *dht.Server, p bep44.Put, target bep44.Target) valueOutcome {
		_, op := routedGet(ctx, s, target, it.salt, false)
		var wg sync.WaitGroup
		op.Closest().Range(func(e knearest.Elem) {
			wg.Go(func() { s.Put(ctx, dht.NewAddr(e.Addr.UDP()), p, e.Data.(string), dht.QueryRateLimiting{}) })
		})
		wg.Wait()
		return a.stored(target, it.seq, from, ctx.Err())
	})
}

func (a *anacrolixNet) getRouted(ctx context.Context, from int, want valueItem) valueOutcome {
	want = routedItem(want)
	return a.counted(from, want, func(s *dht.Server, _ bep44.Put, target bep44.Target) valueOutcome {
		res, _ := routedGet(ctx, s, target, want.salt, !want.mutable())
		if !res.found {
			return valueOutcome{err: fmt.Errorf("item %x not found", target)}
		}
		return checkGot(target, want, res.v, res.seq)
	})
}
