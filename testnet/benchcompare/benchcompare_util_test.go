package main

import (
	"context"
	"testing"
	"time"
)

// tinyRunBound bounds a test that runs a whole phase on tiny networks.
// Under the race detector on a loaded two-core machine such a test has
// taken close to two minutes, so the bound is generous: it only keeps a
// stuck run from hanging the suite.
const tinyRunBound = 5 * time.Minute

// joinedAnacrolix builds an anacrolix network by plan, with its ping
// round, and closes it when tb ends.
func joinedAnacrolix(tb testing.TB, ctx context.Context, plan joinPlan) *anacrolixNet {
	tb.Helper()
	an := newAnacrolixNet(nil)
	tb.Cleanup(an.close)
	if err := joinAll(ctx, an, plan, func(int) {}); err != nil {
		tb.Fatal(err)
	}
	if err := an.settle(ctx); err != nil {
		tb.Fatal(err)
	}
	return an
}

// joinedKadnode builds a kadnode network with bucket size k by plan and
// closes it when tb ends.
func joinedKadnode(tb testing.TB, ctx context.Context, k int, plan joinPlan) *kadnodeNet {
	tb.Helper()
	kn, err := newKadnodeNet(k, 0, 0, 1, nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(kn.close)
	if err := joinAll(ctx, kn, plan, func(int) {}); err != nil {
		tb.Fatal(err)
	}
	return kn
}
