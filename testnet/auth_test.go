package testnet

import (
	"context"
	"testing"

	"github.com/anacrolix/dht/v2/krpc"

	"github.com/kadnode/kadnode/kad"
	"github.com/kadnode/kadnode/node"
)

// heldBy returns the indexes of the nodes whose tables hold id.
func heldBy(net *Network, id krpc.ID) []int {
	var out []int
	for _, m := range net.Running() {
		if _, ok := entry(m, id); ok {
			out = append(out, m.Index)
		}
	}
	return out
}

// A read-only node (BEP 43) looks others up but is inserted nowhere.
func TestReadOnlyNodeIsNeverInserted(t *testing.T) {
	net := newNet(t, patient(Options{Seed: 4, Node: func(i int, c *node.Config) {
		c.ReadOnly = i == 10
	}}))
	grow(t, net, 10)
	ro := add(t, net, net.Nodes()[0].Contact())
	for _, m := range net.Nodes()[:10] {
		if res := lookup(t, ro, m.ID); !res.Found || res.Addr != m.Addr {
			t.Fatalf("read-only node did not find node %d: %+v", m.Index, res)
		}
	}
	if by := heldBy(net, ro.ID); len(by) != 0 {
		t.Fatalf("read-only node is in the tables of nodes %v", by)
	}
	if ro.Node().Stats().RPCsOut["find_node"]["ok"] == 0 {
		t.Fatal("read-only node sent no find_node")
	}
}

// A caller whose "id" is not the ID of its certificate gets an error and
// is inserted nowhere, under either ID.
func TestCallerWithForeignIDIsNeverInserted(t *testing.T) {
	net := newNet(t, patient(Options{Seed: 5}))
	grow(t, net, 5)
	target := net.Nodes()[2]

	ident, tr := listenOutside(t, 900)
	defer tr.Close()
	claimed := net.Nodes()[4].ID // pretends to be another, existing node
	queries := []*krpc.Msg{
		kad.PingQuery(claimed, false),
		kad.FindNodeQuery(claimed, krpc.RandomNodeID(), false),
	}
	for _, q := range queries {
		_, reply, err := tr.Call(context.Background(), target.Addr, &target.ID, q)
		if err == nil {
			t.Fatalf("%s with a foreign id was answered: %+v", q.Q, reply)
		}
		t.Logf("%s with a foreign id: %v", q.Q, err)
	}
	if by := heldBy(net, ident.ID); len(by) != 0 {
		t.Fatalf("caller's certificate ID is in the tables of nodes %v", by)
	}
	if c, ok := entry(target, claimed); ok && c.Addr != net.Nodes()[4].Addr {
		t.Fatalf("the claimed ID now points at the impostor's address %v", c.Addr)
	}
}
