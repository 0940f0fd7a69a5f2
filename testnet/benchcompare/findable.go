package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/anacrolix/dht/v2/krpc"
)

// findableResult says how soon a newly joined node could be found by every
// other node of the network.
type findableResult struct {
	others  int           // nodes that looked for it
	found   int           // of those, how many found it within the rounds
	rounds  int           // lookup rounds run
	joined  time.Duration // its join (and settle), from the start
	allDone time.Duration // from the start of its join until the last node found it; 0 if some never did
}

// measureFindable joins one more node through seed, then has every other
// node look it up, in rounds, until all have found it. Between rounds the
// network settles (anacrolix pings the entries it has not pinged yet, as
// its table maintenance would).
func measureFindable(ctx context.Context, net network, lookup lookupFunc, seed int) (findableResult, error) {
	ctx, cancel := context.WithTimeout(ctx, findableTimeout)
	defer cancel()
	start := time.Now()
	newIdx := len(net.ids())
	net.grow(newIdx + 1)
	jctx, jcancel := context.WithTimeout(ctx, joinTimeout)
	err := net.join(jctx, newIdx, seed)
	jcancel()
	if err != nil {
		return findableResult{}, fmt.Errorf("%s: joining the new node: %w", net.name(), err)
	}
	if err := net.settle(ctx); err != nil {
		return findableResult{}, err
	}
	res := findableResult{others: newIdx, joined: time.Since(start)}
	target := net.ids()[newIdx]
	pending := make([]int, newIdx)
	for i := range pending {
		pending[i] = i
	}
	for ; res.rounds < findableRounds && len(pending) > 0 && ctx.Err() == nil; res.rounds++ {
		if res.rounds > 0 {
			if err := net.settle(ctx); err != nil {
				break
			}
		}
		pending = notFinding(ctx, pending, target, lookup)
	}
	res.found = newIdx - len(pending)
	if len(pending) == 0 {
		res.allDone = time.Since(start)
	}
	return res, nil
}

// notFinding looks target up from each node of from, findableWindow at a
// time, and returns the nodes whose lookup did not find it.
func notFinding(ctx context.Context, from []int, target krpc.ID, lookup lookupFunc) []int {
	missed := make([]bool, len(from))
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range findableWindow {
		wg.Go(func() {
			for j := range jobs {
				lctx, cancel := context.WithTimeout(ctx, lookupTimeout)
				missed[j] = !lookup(lctx, from[j], target).found
				cancel()
			}
		})
	}
	for j := range from {
		if ctx.Err() != nil {
			missed[j] = true
			continue
		}
		jobs <- j
	}
	close(jobs)
	wg.Wait()
	var out []int
	for j, m := range missed {
		if m {
			out = append(out, from[j])
		}
	}
	return out
}
