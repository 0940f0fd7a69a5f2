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
	inNATNetwork(t, 150, testNATNetwork)
}

func testNATNetwork(t *testing.T, ctx context.Context) {
	res, err := RunNATExperiment(ctx, NATExperimentConfig{
		Cluster:  natTestCluster(150, 1),
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
	if res.ClientMode["symmetric"] != res.Members["symmetric"] || res.ClientMode["public"] != 0 || res.ClientMode["cone"] != 0 {
		t.Errorf("client mode by kind %v, want every symmetric node and no other", res.ClientMode)
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
	// A node that knows it is behind a symmetric NAT does not try the
	// punches that cannot work, so its lookups meet no timeout.
	for _, r := range res.Targets {
		if r.Source == "symmetric" && r.Timeouts.Max != 0 {
			t.Errorf("lookups for %s targets from symmetric nodes met up to %d timeouts (mean %.2f), want none", r.Target, r.Timeouts.Max, r.TimeoutsMean)
		}
	}
	if res.PunchesSkipped == 0 {
		t.Error("no symmetric node passed over a punch")
	}
	if r := res.row("public", "public"); r.Found != 1 || r.Timeouts.Max != 0 {
		t.Errorf("public nodes looked up from public ones: %+v, want all found without a timeout", r)
	}
}

// TestConeNodesFoundAfterGrowth looks up every live cone node from a
// public node, after a network that grew from one node to 300 has
// settled. A cone node that joined early took its rendezvous from a
// small network; unless it looks for the nodes that joined near its ID
// since, none of its rendezvous is among the k closest to it, and a
// lookup of its ID ends without meeting one.
func TestConeNodesFoundAfterGrowth(t *testing.T) {
	inNATNetwork(t, 300, testConeNodesFoundAfterGrowth)
}

func testConeNodesFoundAfterGrowth(t *testing.T, ctx context.Context) {
	c := settledNATCluster(t, ctx, 300, 2)
	// Each lookup from another public node: a rendezvous rate-limits
	// the relays it does for one asker.
	public := c.membersOf(Public)
	missed, cones := missedConeNodes(t, ctx, c, func(j int) *Member { return public[j%len(public)] })
	if cones == 0 || len(missed) > 0 {
		t.Errorf("%d of %d cone nodes not found from a public node (by join order: %v)", len(missed), cones, missed)
	}
}

// inNATNetwork runs f in virtual time with an hour's deadline, unless
// -short: it builds a NAT network of nodes nodes.
func inNATNetwork(t *testing.T, nodes int, f func(t *testing.T, ctx context.Context)) {
	if testing.Short() {
		t.Skipf("builds a %d-node network", nodes)
	}
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
		defer cancel()
		f(t, ctx)
	})
}

// natTestCluster is the NAT tests' network: 40% public, 45% behind cone
// NATs, 15% behind symmetric ones.
func natTestCluster(nodes int, seed uint64) ClusterConfig {
	return ClusterConfig{
		Nodes: nodes,
		Net:   Config{RTTMin: 20 * time.Millisecond, RTTMax: 300 * time.Millisecond, Timeout: node.DefaultRPCTimeout, Tick: DefaultTick},
		Node:  node.Config{RevalidateInterval: time.Hour},
		Seed:  seed,
		NAT:   &NATMix{Public: 0.4, Cone: 0.45, Symmetric: 0.15},
	}
}

// TestBusyAskerFindsEveryConeNode looks up every live cone node, one
// after another, from a single public node. A lookup meets several NAT'd
// nodes near its target and asks a rendezvous to relay for each; the
// rendezvous limit the relays they do per asker, and a refused relay
// must not cost the target.
func TestBusyAskerFindsEveryConeNode(t *testing.T) {
	inNATNetwork(t, 300, testBusyAskerFindsEveryConeNode)
}

func testBusyAskerFindsEveryConeNode(t *testing.T, ctx context.Context) {
	c := settledNATCluster(t, ctx, 300, 3)
	asker := c.membersOf(Public)[0]
	missed, cones := missedConeNodes(t, ctx, c, func(int) *Member { return asker })
	if cones == 0 || len(missed) > 0 {
		t.Errorf("one public node, looking up every cone node in turn, missed %d of %d (by join order: %v)", len(missed), cones, missed)
	}
}
