package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"

	"github.com/anacrolix/dht/v2/krpc"

	"github.com/kadnode/kadnode/node"
)

// network is one N-node network of either system, built in this process.
type network interface {
	// name is what the report calls it.
	name() string
	// grow makes room for nodes up to index n-1.
	grow(n int)
	// join starts node i and joins it through node seed; seed < 0 starts it alone.
	join(ctx context.Context, i, seed int) error
	// settle runs what the system needs between joining and being useful
	// (anacrolix: a round of pings; kadnode: nothing).
	settle(ctx context.Context) error
	// ids lists the node IDs by index.
	ids() []krpc.ID
	// close stops every node and removes its files.
	close()
}

// lookupFunc runs one lookup of target from node from.
type lookupFunc func(ctx context.Context, from int, target krpc.ID) lookupOutcome

// lookupOutcome is what one lookup returned and cost.
type lookupOutcome struct {
	closest   []krpc.ID // nodes that answered, in any order
	found     bool      // the node with ID target answered
	queries   int
	responses int
	timeouts  int
	// handshakes and resumed are the DTLS handshakes the querying node
	// completed during the lookup, and those of them that resumed a
	// session (kadnode only; its other handshakes in that time count too).
	handshakes, resumed uint64
	err                 error
}

// joinPlan says which earlier node each node joins through. Node 0 starts
// alone; the others join in waves of parallel nodes, each through a random
// node of an earlier wave, so both systems join in exactly the same pattern.
type joinPlan struct {
	seeds []int
	waves [][2]int // [first, end) of each wave
}

func newJoinPlan(n, parallel int, rng *rand.Rand) joinPlan {
	p := joinPlan{seeds: make([]int, n)}
	if n == 0 {
		return p
	}
	p.seeds[0] = -1
	p.waves = append(p.waves, [2]int{0, 1})
	for first := 1; first < n; first += parallel {
		end := min(first+parallel, n)
		for i := first; i < end; i++ {
			p.seeds[i] = rng.IntN(first)
		}
		p.waves = append(p.waves, [2]int{first, end})
	}
	return p
}

// joinAll joins every node of net by plan, a wave at a time, calling
// progress after each tenth of the nodes.
func joinAll(ctx context.Context, net network, plan joinPlan, progress func(joined int)) error {
	net.grow(len(plan.seeds))
	step, next := max(1, len(plan.seeds)/10), 0
	for _, w := range plan.waves {
		if w[0] >= next {
			progress(w[0])
			next = w[0] + step
		}
		errs := make([]error, w[1]-w[0])
		var wg sync.WaitGroup
		for i := w[0]; i < w[1]; i++ {
			wg.Go(func() {
				jctx, cancel := context.WithTimeout(ctx, joinTimeout)
				defer cancel()
				if err := net.join(jctx, i, plan.seeds[i]); err != nil {
					errs[i-w[0]] = fmt.Errorf("%s: joining node %d through node %d: %w", net.name(), i, plan.seeds[i], err)
				}
			})
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// trueClosest returns the k IDs of ids closest to target by XOR distance,
// leaving out index self (a node does not return itself).
func trueClosest(ids []krpc.ID, self int, target krpc.ID, k int) []krpc.ID {
	others := make([]krpc.ID, 0, len(ids))
	for i, id := range ids {
		if i != self {
			others = append(others, id)
		}
	}
	return closestOf(others, target, k)
}

// closestOf sorts a copy of ids by distance to target, drops duplicates
// and returns at most k of them.
func closestOf(ids []krpc.ID, target krpc.ID, k int) []krpc.ID {
	s := slices.Clone(ids)
	slices.SortFunc(s, func(a, b krpc.ID) int { return node.CompareDistance(target, a, b) })
	s = slices.Compact(s)
	return s[:min(k, len(s))]
}

// exactness compares what a lookup returned with the truth: whether its k
// closest are exactly the true k closest, and how many of those it has.
func exactness(returned, truth []krpc.ID, self krpc.ID, target krpc.ID) (exact bool, hits int) {
	got := slices.DeleteFunc(slices.Clone(returned), func(id krpc.ID) bool { return id == self })
	got = closestOf(got, target, len(truth))
	want := make(map[krpc.ID]struct{}, len(truth))
	for _, id := range truth {
		want[id] = struct{}{}
	}
	for _, id := range got {
		if _, ok := want[id]; ok {
			hits++
		}
	}
	return hits == len(truth), hits
}

func randomID(rng *rand.Rand) krpc.ID {
	var id krpc.ID
	for i := range id {
		id[i] = byte(rng.UintN(256))
	}
	return id
}
