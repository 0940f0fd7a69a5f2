package main

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/anacrolix/dht/v2/krpc"
	"go.uber.org/goleak"

	"github.com/kadnode/kadnode/node"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestJoinPlanJoinsEachNodeThroughAnEarlierWave(t *testing.T) {
	const n, parallel = 50, 8
	p := newJoinPlan(n, parallel, rand.New(rand.NewPCG(1, 2)))
	if p.seeds[0] != -1 || p.waves[0] != [2]int{0, 1} {
		t.Fatalf("node 0 must start alone: seeds[0]=%d, first wave %v", p.seeds[0], p.waves[0])
	}
	next := 0
	for _, w := range p.waves {
		if w[0] != next || w[1] <= w[0] || w[1]-w[0] > parallel {
			t.Fatalf("wave %v does not continue at %d with 1..%d nodes", w, next, parallel)
		}
		for i := w[0]; i < w[1] && i > 0; i++ {
			if p.seeds[i] < 0 || p.seeds[i] >= w[0] {
				t.Fatalf("node %d joins through %d, not a node of an earlier wave (< %d)", i, p.seeds[i], w[0])
			}
		}
		next = w[1]
	}
	if next != n {
		t.Fatalf("waves end at %d, want %d", next, n)
	}
}

func TestExactnessAgainstTrueClosest(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	ids := make([]krpc.ID, 40)
	for i := range ids {
		ids[i] = randomID(rng)
	}
	target := randomID(rng)
	const self, k = 7, 8
	truth := trueClosest(ids, self, target, k)
	if len(truth) != k || slices.Contains(truth, ids[self]) {
		t.Fatalf("truth has %d IDs (want %d) or contains the querier", len(truth), k)
	}
	for i, id := range ids {
		if i != self && !slices.Contains(truth, id) && node.CompareDistance(target, id, truth[k-1]) < 0 {
			t.Fatalf("node %d is closer than the farthest of the truth but left out", i)
		}
	}
	// The truth in another order, with the querier, a duplicate and far nodes, is exact.
	returned := append(slices.Clone(truth), ids[self], truth[0])
	slices.Reverse(returned)
	returned = append(returned, ids...)
	if exact, hits := exactness(returned, truth, ids[self], target); !exact || hits != k {
		t.Fatalf("exactness(all of truth) = %v, %d; want true, %d", exact, hits, k)
	}
	// Missing the closest one is not exact, and counts k-1 hits.
	if exact, hits := exactness(truth[1:], truth, ids[self], target); exact || hits != k-1 {
		t.Fatalf("exactness(truth without its closest) = %v, %d; want false, %d", exact, hits, k-1)
	}
}

// TestAnacrolixNetworkAnswers checks the anacrolix side on a small network:
// it joins, its lookups get answers, and the load client gets answers.
func TestAnacrolixNetworkAnswers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const n = 12
	an := joinedAnacrolix(t, ctx, newJoinPlan(n, 4, rand.New(rand.NewPCG(5, 6))))
	for i := range n {
		if got := len(an.server(i).Nodes()); got == 0 {
			t.Fatalf("anacrolix node %d has an empty table after join", i)
		}
	}
	ids := an.ids()
	for _, lookup := range []lookupFunc{an.getPeersLookup, an.findNodeLookup} {
		out := lookup(ctx, 0, ids[5])
		if out.err != nil || out.responses == 0 || len(out.closest) == 0 {
			t.Fatalf("lookup from node 0: err %v, %d responses, %d closest", out.err, out.responses, len(out.closest))
		}
	}
	clients, err := newUDPClients(4, an.server(3).Addr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer closeClients(clients)
	if res := runLoad(ctx, clients, 200*time.Millisecond, 1); res.answers == 0 {
		t.Fatalf("load against anacrolix node 3 got no answers (%d lost)", res.lost)
	}
}

// TestRunTinyNetworks runs the whole comparison at a tiny N, values phase
// included, with every datagram through a delay line (-delay). There every
// kadnode lookup must return exactly the true k closest and every node
// must find a newly joined one.
func TestRunTinyNetworks(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), tinyRunBound)
	defer cancel()
	o := options{
		sizes: []int{12}, ks: []int{8}, lookups: 10, joinParallel: 4,
		window: 4, answerTime: 200 * time.Millisecond, answerRuns: 1, seed: 1, progress: io.Discard, values: 4,
		delay: time.Millisecond,
	}
	rows, err := runSize(ctx, 12, o, func(rowResult) {})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 {
		t.Fatalf("got %d rows, want 1", len(rows))
	}
	r := rows[0]
	for name, s := range map[string]lookupSummary{"cold": r.cold[1], "warm": r.warm[1]} {
		if s.count != o.lookups || s.errors != 0 || s.exactShare != 1 {
			t.Errorf("kadnode %s: %d lookups, %d errors, exact %.2f; want %d, 0, 1", name, s.count, s.errors, s.exactShare, o.lookups)
		}
	}
	if r.kFind.found != r.kFind.others {
		t.Errorf("kadnode: %d of %d nodes found the new node", r.kFind.found, r.kFind.others)
	}
	if len(r.aLoad) != 1 || len(r.kLoad) != 1 || r.aLoad[0].answers == 0 || r.kLoad[0].answers == 0 {
		t.Errorf("load runs: anacrolix %v, kadnode %v; want one run each with answers", r.aLoad, r.kLoad)
	}
	if r.values == nil || len(r.values.getWarm[sysKadnode]) != o.values {
		t.Errorf("values phase: %+v; want %d warm gets on kadnode", r.values, o.values)
	}
	var md bytes.Buffer
	writeRow(&md, r)
	writeTargets(&md, r)
	writeValues(&md, r)
	for _, want := range []string{"### N = 12, kadnode k = 8", "| exact-k lookups, cold (%) |", "| answers/s from one node", "#### Targets", "#### Values"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, md.String())
		}
	}
}
