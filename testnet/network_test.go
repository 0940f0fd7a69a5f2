package testnet

import (
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/anacrolix/dht/v2/krpc"

	"github.com/kadnode/kadnode/node"
)

// lookupWorkers bounds the lookups a test runs at once.
const lookupWorkers = 8

// forEachParallel runs f(i) for i in [0, n) on lookupWorkers goroutines.
func forEachParallel(n int, f func(i int)) { forEachOn(lookupWorkers, n, f) }

// forEachOn runs f(i) for i in [0, n) on workers goroutines.
func forEachOn(workers, n int, f func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				f(i)
			}
		}()
	}
	wg.Wait()
}

// Every node finds every other node of a network in which each node
// joined through one random earlier node.
func TestEveryNodeFindsEveryNode(t *testing.T) {
	size := 50
	if testing.Short() {
		size = 20
	}
	net := newNet(t, patient(Options{Seed: 1}))
	grow(t, net, size)
	nodes := net.Nodes()
	var missed atomic.Int64
	forEachParallel(size*size, func(i int) {
		from, to := nodes[i/size], nodes[i%size]
		if from == to {
			return
		}
		res := lookup(t, from, to.ID)
		if !res.Found || res.Addr != to.Addr {
			missed.Add(1)
			t.Errorf("node %d did not find node %d at %v: found=%v addr=%v stats=%+v",
				from.Index, to.Index, to.Addr, res.Found, res.Addr, res.Stats)
		}
	})
	t.Logf("%d lookups, %d missed", size*(size-1), missed.Load())
}

// Lookups of random targets return the true k closest nodes.
func TestLookupsReturnTrueClosest(t *testing.T) {
	size, lookups := 200, 500
	if testing.Short() {
		size, lookups = 60, 100
	}
	net := newNet(t, patient(Options{Seed: 2}))
	grow(t, net, size)
	nodes := net.Nodes()
	ids := make([]krpc.ID, len(nodes))
	for i, m := range nodes {
		ids[i] = m.ID
	}
	r := rand.New(rand.NewPCG(3, 0))
	type job struct {
		from   *Node
		target krpc.ID
	}
	jobs := make([]job, lookups)
	for i := range jobs {
		jobs[i].from = nodes[r.IntN(len(nodes))]
		for j := range jobs[i].target {
			jobs[i].target[j] = byte(r.Uint32())
		}
	}
	var exact, returned atomic.Int64
	forEachParallel(lookups, func(i int) {
		j := jobs[i]
		res := lookup(t, j.from, j.target)
		// A node does not return itself: the truth is over the others.
		others := slices.DeleteFunc(slices.Clone(ids), func(id krpc.ID) bool { return id == j.from.ID })
		want := closestIDs(others, j.target, node.DefaultK)
		got := make(map[krpc.ID]bool, len(res.Closest))
		for _, c := range res.Closest {
			got[c.ID] = true
		}
		hits := 0
		for _, id := range want {
			if got[id] {
				hits++
			}
		}
		returned.Add(int64(hits))
		if hits == len(want) && len(res.Closest) == len(want) {
			exact.Add(1)
		}
	})
	exactPct := 100 * float64(exact.Load()) / float64(lookups)
	returnedPct := 100 * float64(returned.Load()) / float64(lookups*node.DefaultK)
	t.Logf("%d nodes, %d lookups: %.1f%% exact top-%d, %.2f%% of the true closest returned",
		size, lookups, exactPct, node.DefaultK, returnedPct)
	if exactPct < 99 {
		t.Errorf("%.1f%% of lookups returned exactly the true %d closest, want ≥ 99%%", exactPct, node.DefaultK)
	}
	if returnedPct < 99.9 {
		t.Errorf("%.2f%% of the true closest were returned, want ≥ 99.9%%", returnedPct)
	}
}

// closestIDs returns the k of ids closest to target, closest first.
func closestIDs(ids []krpc.ID, target krpc.ID, k int) []krpc.ID {
	s := slices.Clone(ids)
	slices.SortFunc(s, func(a, b krpc.ID) int { return node.CompareDistance(target, a, b) })
	return s[:min(k, len(s))]
}
