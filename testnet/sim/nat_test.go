package sim

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/kadnode/kadnode/node"
)

// TestNATNetwork runs the unchanged node code with NAT handling on 150
// nodes, 40% public, 45% behind cone NATs and 15% behind symmetric ones:
// public nodes must classify public, cone nodes must be found and reached
// through a punch, and no symmetric node may ever be handed out.
func TestNATNetwork(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 150-node network")
	}
	synctest.Test(t, testNATNetwork)
}

func testNATNetwork(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	res, err := RunNATExperiment(ctx, NATExperimentConfig{
		Cluster: ClusterConfig{
			Nodes: 150,
			Net:   Config{RTTMin: 20 * time.Millisecond, RTTMax: 300 * time.Millisecond, Timeout: node.DefaultRPCTimeout},
			Node:  node.Config{RevalidateInterval: time.Hour},
			Seed:  1,
			NAT:   &NATMix{Public: 0.4, Cone: 0.45, Symmetric: 0.15},
		},
		Settle:   3 * time.Minute,
		Lookups:  90,
		Parallel: 4,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res.Targets {
		t.Logf("%+v", r)
	}
	for kind, want := range expected {
		if got := res.Classified[kind][want]; got != res.Members[kind] {
			t.Errorf("%d of %d %s nodes classified %s: %v", got, res.Members[kind], kind, want, res.Classified[kind])
		}
	}
	if res.ClientMode["symmetric"] != res.Members["symmetric"] || res.ClientMode["public"] != 0 {
		t.Errorf("client mode by kind %v, want every symmetric node and no public one", res.ClientMode)
	}
	if h := res.Handouts; h.SymmetricNodes != 0 || h.ConeAtAddress != 0 || h.ConeForPunch == 0 {
		t.Errorf("handouts %+v: want no symmetric node and no cone node at an address, cone nodes for punching", h)
	}
	if res.PunchesOK == 0 || res.Relays == 0 {
		t.Errorf("%d punches succeeded over %d relays: cone nodes were not reached by punching", res.PunchesOK, res.Relays)
	}
	// Punching works from public and cone nodes (a symmetric NAT's new
	// port per destination defeats a port-restricted filter).
	var lookups, found, reached float64
	for _, source := range []string{"public", "cone"} {
		r := res.row("cone", source)
		lookups += float64(r.Lookups)
		found += r.Found * float64(r.Lookups)
		reached += r.Reached * float64(r.Lookups)
	}
	if lookups == 0 || reached < 0.9*lookups || reached < found-0.5 {
		t.Errorf("of %.0f lookups for cone nodes from public and cone nodes %.0f found, %.0f reached: want at least 90%% reached, every found one", lookups, found, reached)
	}
	if r := res.row("public", "public"); r.Found != 1 || r.Timeouts.Max != 0 {
		t.Errorf("public nodes looked up from public ones: %+v, want all found without a timeout", r)
	}
}
