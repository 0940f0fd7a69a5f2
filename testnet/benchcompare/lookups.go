package main

import (
	"context"
	"time"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/kadnode/kadnode/testnet/stats"
)

// lookupPass is one series of lookups by one system over the shared pairs.
type lookupPass struct {
	label  string
	lookup lookupFunc
	ids    []krpc.ID // every node ID of the system, for the truth
	k      int       // how many closest nodes a lookup should return
}

// lookupPair is one lookup to make: from which node, for what target.
type lookupPair struct {
	from   int
	target krpc.ID
}

// lookupSummary is what a pass measured.
type lookupSummary struct {
	count         int
	p50, p90, p99 time.Duration
	exactShare    float64 // share of lookups whose k closest are exactly the true k
	trueShare     float64 // share of the true k returned, over all lookups
	messages      float64 // queries plus responses per lookup
	timeouts      float64 // per lookup
	handshakes    float64 // per lookup, at the querying node (kadnode)
	resumed       float64 // of those, per lookup
	errors        int
	cost          cost
}

// runPasses runs every pass over every pair, interleaved: for each pair the
// passes take turns, in an order that rotates from pair to pair, so that
// machine noise falls on all of them alike. It logs progress after each
// quarter of the pairs.
func runPasses(ctx context.Context, pairs []lookupPair, passes []lookupPass, logf func(string, ...any)) []lookupSummary {
	durs := make([][]time.Duration, len(passes))
	sums := make([]lookupSummary, len(passes))
	step := max(1, len(pairs)/4)
	for i, pr := range pairs {
		if i > 0 && i%step == 0 {
			logf("%d of %d lookups of each pass done", i, len(pairs))
		}
		for j := range passes {
			p := (i + j) % len(passes)
			if ctx.Err() != nil {
				break
			}
			d := runOne(ctx, passes[p], pr, &sums[p])
			durs[p] = append(durs[p], d)
		}
	}
	for p := range sums {
		finishSummary(&sums[p], durs[p])
	}
	return sums
}

// runOne runs one lookup and adds it to sum; it returns its wall time.
func runOne(ctx context.Context, pass lookupPass, pr lookupPair, sum *lookupSummary) time.Duration {
	lctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	var out lookupOutcome
	c := measure("", "", func() { out = pass.lookup(lctx, pr.from, pr.target) })
	sum.cost.add(c)
	sum.count++
	if out.err != nil {
		sum.errors++
	}
	truth := trueClosest(pass.ids, pr.from, pr.target, pass.k)
	exact, hits := exactness(out.closest, truth, pass.ids[pr.from], pr.target)
	if exact {
		sum.exactShare++
	}
	sum.trueShare += float64(hits) / float64(len(truth))
	sum.messages += float64(out.queries + out.responses)
	sum.timeouts += float64(out.timeouts)
	sum.handshakes += float64(out.handshakes)
	sum.resumed += float64(out.resumed)
	return c.wall
}

func finishSummary(s *lookupSummary, durs []time.Duration) {
	if s.count == 0 {
		return
	}
	n := float64(s.count)
	s.exactShare /= n
	s.trueShare /= n
	s.messages /= n
	s.timeouts /= n
	s.handshakes /= n
	s.resumed /= n
	ps := stats.Percentiles(durs, 50, 90, 99)
	s.p50, s.p90, s.p99 = ps[0], ps[1], ps[2]
}
