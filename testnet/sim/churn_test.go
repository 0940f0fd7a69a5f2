package sim

import (
	"context"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/kadnode/kadnode/node"
)

func TestWeibullHasItsMedian(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for _, shape := range []float64{0.5, 1, 2} {
		xs := make([]time.Duration, 20001)
		for i := range xs {
			xs[i] = weibull(rng, time.Hour, shape)
		}
		slices.Sort(xs)
		if med := xs[len(xs)/2]; med < 55*time.Minute || med > 65*time.Minute {
			t.Errorf("shape %v: median of 20,001 draws %v, want about 1h", shape, med)
		}
	}
}

func TestPathRTTIsStableSymmetricAndInRange(t *testing.T) {
	n := newTestNetwork(t, Config{RTTMin: 20 * time.Millisecond, RTTMax: 300 * time.Millisecond, SkipEncoding: true})
	var seen []time.Duration
	for i := range 50 {
		a := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, byte(i)}), Port)
		b := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 1, byte(i)}), Port)
		d := n.pathRTT(a, b)
		if d != n.pathRTT(b, a) || d != n.pathRTT(a, b) {
			t.Fatalf("%s–%s: RTT differs by direction or call", a, b)
		}
		if d < 20*time.Millisecond || d > 300*time.Millisecond {
			t.Fatalf("%s–%s: RTT %v outside 20ms–300ms", a, b, d)
		}
		seen = append(seen, d)
	}
	slices.Sort(seen)
	if seen[len(seen)-1]-seen[0] < 100*time.Millisecond {
		t.Errorf("50 paths span only %v–%v: not drawn from the range", seen[0], seen[len(seen)-1])
	}
}

// TestSessionChurnTakesNodesDownAndBack runs a small network through an
// hour and a quarter of Weibull session churn in virtual time: sessions end,
// nodes come back, and lookups still find live nodes.
func TestSessionChurnTakesNodesDownAndBack(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 100-node network")
	}
	synctest.Test(t, func(t *testing.T) {
		res, err := RunExperiment(context.Background(), ExperimentConfig{
			Cluster: ClusterConfig{
				Nodes:      100,
				Net:        Config{RTTMin: 20 * time.Millisecond, RTTMax: 300 * time.Millisecond, Timeout: node.DefaultRPCTimeout, Tick: DefaultTick, SkipEncoding: true},
				Node:       node.Config{RevalidateInterval: 5 * time.Second},
				Seed:       3,
				MemoryOnly: true,
			},
			Lookups:  60,
			Sessions: &SessionChurn{Median: time.Hour, Shape: 0.5, Warmup: 75 * time.Minute},
			Parallel: 4,
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Phases) != 2 || !res.Phases[1].Sessions {
			t.Fatalf("phases %+v, want a clean one and a session-churn one", res.Phases)
		}
		p := res.Phases[1]
		t.Logf("%+v", p)
		if p.Downs == 0 || p.Returns == 0 || p.Live <= 0 || p.Live >= 1 {
			t.Errorf("after 75 min of churn: %d sessions ended, %d nodes back, %.2f live; want some of each", p.Downs, p.Returns, p.Live)
		}
		if p.Timeouts.Max == 0 {
			t.Error("no lookup met a departed node")
		}
		if p.Found < 0.8 {
			t.Errorf("under churn lookups found only %.2f of live nodes", p.Found)
		}
	})
}

func TestSessionChurnRejectsBadParameters(t *testing.T) {
	for _, s := range []SessionChurn{{Median: 0, Shape: 1}, {Median: time.Hour}, {Median: time.Hour, Shape: 1, Warmup: -1}} {
		_, err := RunExperiment(context.Background(), ExperimentConfig{Cluster: ClusterConfig{Nodes: 2}, Lookups: 2, Sessions: &s})
		if err == nil {
			t.Errorf("%+v accepted", s)
		}
	}
}
