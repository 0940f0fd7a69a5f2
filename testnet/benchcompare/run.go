package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"time"
)

// runSize measures one network size: for each k, a fresh anacrolix network
// and a fresh kadnode network, joined by the same plan and measured
// interleaved. It hands each row to emit as soon as it is measured.
func runSize(ctx context.Context, n int, o options, emit func(rowResult)) ([]rowResult, error) {
	rng := rand.New(rand.NewPCG(o.seed, uint64(n)))
	plan := newJoinPlan(n, o.joinParallel, rng)
	var rows []rowResult
	for _, k := range o.ks {
		r := rowResult{n: n, k: k, window: o.window}
		err := runRow(ctx, &r, plan, rng, o)
		emit(r)
		rows = append(rows, r)
		if err != nil {
			return rows, err
		}
	}
	return rows, nil
}

// runRow builds both networks, measures them, and closes them.
func runRow(ctx context.Context, r *rowResult, plan joinPlan, rng *rand.Rand, o options) error {
	sys := fmt.Sprintf("kadnode-k%d", r.k)
	o.logf("N=%d: joining anacrolix", r.n)
	line := newDelayLine(o.delay) // nil without -delay
	defer line.close()            // after both networks (defers run last first)
	before := takeMem()
	an := newAnacrolixNet(line)
	defer an.close()
	var err error
	r.aJoin = measure(o.profileDir, profileName(r.n, sys, "anacrolix-join"), func() { err = joinAll(ctx, an, plan, func(int) {}) })
	if err != nil {
		return err
	}
	r.aSettle = measure(o.profileDir, profileName(r.n, sys, "anacrolix-settle"), func() { err = an.settle(ctx) })
	if err != nil {
		return err
	}
	r.aMem = memPerNode(before, takeMem(), r.n)
	o.logf("N=%d: anacrolix joined in %v + ping round %v", r.n, r.aJoin.wall, r.aSettle.wall)

	o.logf("N=%d: joining %s", r.n, sys)
	before = takeMem()
	kn, err := newKadnodeNet(r.k, o.revalidate, o.prepareAhead, o.seed, line)
	if err != nil {
		return err
	}
	defer kn.close()
	r.kJoin = measure(o.profileDir, profileName(r.n, sys, "join"), func() {
		err = joinAll(ctx, kn, plan, func(i int) { o.logf("N=%d: %s: %d nodes joined", r.n, sys, i) })
	})
	if err != nil {
		return err
	}
	r.kJoinsDone = measure(o.profileDir, profileName(r.n, sys, "joins-done"), func() { err = kn.waitJoinsDone(ctx) })
	if err != nil {
		return err
	}
	r.kMem = memPerNode(before, takeMem(), r.n)
	writeHeapProfile(o.profileDir, profileName(r.n, sys, "heap-after-join"))
	o.logf("N=%d: %s joined in %v; the joins' bucket refreshes ended %v later", r.n, sys, r.kJoin.wall, r.kJoinsDone.wall)

	pairs := make([]lookupPair, o.lookups)
	for i := range pairs {
		pairs[i] = lookupPair{from: rng.IntN(r.n), target: randomID(rng)}
	}
	aIDs, kIDs := an.ids(), kn.ids()
	gp := lookupPass{label: "anacrolix get_peers", lookup: an.getPeersLookup, ids: aIDs, k: anacrolixK}
	kp := lookupPass{label: sys, lookup: kn.lookup, ids: kIDs, k: r.k}
	fn := lookupPass{label: "anacrolix find_node", lookup: an.findNodeLookup, ids: aIDs, k: anacrolixK}
	var sums []lookupSummary
	measure(o.profileDir, profileName(r.n, sys, "lookups-cold"), func() { sums = runPasses(ctx, pairs, []lookupPass{gp, kp}, o.logf) })
	r.cold = [2]lookupSummary{sums[0], sums[1]}
	measure(o.profileDir, profileName(r.n, sys, "lookups-warm"), func() { sums = runPasses(ctx, pairs, []lookupPass{gp, kp, fn}, o.logf) })
	r.warm = [2]lookupSummary{sums[0], sums[1]}
	r.aFindNode = sums[2]
	r.kTransport = kn.transportTotals()
	o.logf("N=%d: %s lookups done (exact cold %.0f%%/%.0f%%, warm %.0f%%/%.0f%%)", r.n, sys,
		100*r.cold[0].exactShare, 100*r.cold[1].exactShare, 100*r.warm[0].exactShare, 100*r.warm[1].exactShare)
	if err := ctx.Err(); err != nil {
		return err
	}
	seed := rng.IntN(r.n)
	if r.aFind, err = measureFindable(ctx, an, an.getPeersLookup, seed); err != nil {
		return err
	}
	if r.kFind, err = measureFindable(ctx, kn, kn.lookup, seed); err != nil {
		return err
	}
	o.logf("N=%d: %s findable done", r.n, sys)

	if err := measureLoad(ctx, r, an, kn, rng.IntN(r.n), o); err != nil {
		return err
	}
	if o.restWait > 0 {
		o.logf("N=%d: %s: waiting %v for idle sessions to be reaped", r.n, sys, o.restWait)
		select {
		case <-time.After(o.restWait): // a measurement protocol, not a wait for a condition
		case <-ctx.Done():
			return ctx.Err()
		}
		r.kMemRest = memPerNode(before, takeMem(), r.n)
		writeHeapProfile(o.profileDir, profileName(r.n, sys, "heap-at-rest"))
		r.kRestSessions = kn.net.LiveSessions()
	}
	// The values phase comes last: its many queries fill anacrolix's tables,
	// which changes how soon a new node becomes findable there.
	if o.values == 0 {
		return nil
	}
	vp := newValuePlan(o.values, r.n, rng)
	var v valuesResult
	measure(o.profileDir, profileName(r.n, sys, "values"), func() {
		v = runValues(ctx, vp, [numValueSystems]valueSystem{an.valueSystem(), kn.valueSystem(), an.routedValueSystem()}, o.logf)
	})
	r.values = &v
	o.logf("N=%d: %s values done", r.n, sys)
	return ctx.Err()
}

// measureLoad runs the find_node load against node target of each network,
// alternating systems run by run.
func measureLoad(ctx context.Context, r *rowResult, an *anacrolixNet, kn *kadnodeNet, target int, o options) error {
	udpAddr, ok := an.server(target).Addr().(*net.UDPAddr)
	if !ok {
		return errors.New("anacrolix server has no UDP address")
	}
	aClients, err := newUDPClients(o.window, udpAddr)
	if err != nil {
		return err
	}
	defer closeClients(aClients)
	m := kn.member(target)
	kClients, err := newKadnodeClients(ctx, o.window, m.Addr, m.ID)
	if err != nil {
		return err
	}
	defer closeClients(kClients)
	sys := fmt.Sprintf("kadnode-k%d", r.k)
	for run := range o.answerRuns {
		a := func() {
			var res loadResult
			measure(o.profileDir, profileName(r.n, "anacrolix", fmt.Sprintf("answers-%s-%d", sys, run)), func() {
				res = runLoad(ctx, aClients, o.answerTime, rng64(o.seed, run))
			})
			r.aLoad = append(r.aLoad, res)
		}
		k := func() {
			var res loadResult
			measure(o.profileDir, profileName(r.n, sys, fmt.Sprintf("answers-%d", run)), func() {
				res = runLoad(ctx, kClients, o.answerTime, rng64(o.seed, run))
			})
			r.kLoad = append(r.kLoad, res)
		}
		if run%2 == 0 {
			a()
			k()
		} else {
			k()
			a()
		}
	}
	aAns, _ := loadMedians(r.aLoad)
	kAns, _ := loadMedians(r.kLoad)
	o.logf("N=%d: %s load done: anacrolix %.0f/s, kadnode %.0f/s", r.n, sys, aAns, kAns)
	return ctx.Err()
}

func rng64(seed uint64, run int) uint64 { return seed*0x9e3779b97f4a7c15 + uint64(run) }

func profileName(n int, sys, phase string) string {
	return strings.NewReplacer(" ", "-", "=", "").Replace(fmt.Sprintf("n%d-%s-%s", n, sys, phase))
}
