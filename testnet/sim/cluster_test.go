package sim

import (
	"context"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/kadnode/kadnode/node"
)

// TestSmallNetworkLookupsAreExact runs the unchanged node code on a few
// hundred simulated nodes in virtual time, with per-path round trips of
// 20–300 ms and kadnode's real RPC timeout: lookups must be exact without
// churn and keep finding live nodes when nodes fail.
func TestSmallNetworkLookupsAreExact(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 300-node network")
	}
	synctest.Test(t, testSmallNetwork)
}

func testSmallNetwork(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var stages []int // phases in each result reported as it was done
	res, err := RunExperiment(ctx, ExperimentConfig{
		Cluster: ClusterConfig{
			Nodes: 300,
			Net:   Config{RTTMin: 20 * time.Millisecond, RTTMax: 300 * time.Millisecond, Timeout: node.DefaultRPCTimeout, Tick: DefaultTick},
			Node:  node.Config{RevalidateInterval: time.Hour},
			Seed:  1,
		},
		Lookups:  100,
		Churn:    []float64{0.3},
		Parallel: 4,
		Done:     func(r ExperimentResult) { stages = append(stages, len(r.Phases)) },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", res)
	if len(res.Phases) != 2 {
		t.Fatalf("%d phases, want 2", len(res.Phases))
	}
	if !slices.Equal(stages, []int{0, 1, 2}) {
		t.Errorf("results reported as done with %v phases, want after the build (0) and after each phase (1, 2)", stages)
	}
	clean, churned := res.Phases[0], res.Phases[1]
	if clean.ExactK != 1 || clean.Found != 1 || clean.Errors != 0 {
		t.Errorf("without churn: exact-k %.2f, found %.2f, %d errors; want every lookup exact and found", clean.ExactK, clean.Found, clean.Errors)
	}
	if clean.Timeouts.Max != 0 {
		t.Errorf("without churn a lookup saw %d timeouts", clean.Timeouts.Max)
	}
	if churned.Timeouts.Max == 0 {
		t.Error("with 30% of nodes failed no lookup saw a timeout: failed nodes still answer")
	}
	if clean.Latency.P50 < 20 {
		t.Errorf("without churn the median lookup took %d ms, under one round trip of the latency model", clean.Latency.P50)
	}
	if churned.Found < 0.9 {
		t.Errorf("with 30%% failed only %.2f of lookups found a live node", churned.Found)
	}
}
