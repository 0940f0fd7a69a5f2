package testnet

import (
	"context"
	"testing"
	"time"

	"github.com/anacrolix/dht/v2/krpc"

	"github.com/kadnode/kadnode/kad"
	"github.com/kadnode/kadnode/node"
	"github.com/kadnode/kadnode/wire"
)

// testTimeout bounds every wait of a test on the network.
const testTimeout = 2 * time.Minute

// patientRPCTimeout replaces the node's 1 s RPC timeout in tests of
// networks without dead nodes: on two shared cores under the race
// detector a live peer can take longer than that to be scheduled, and
// these tests are about which nodes are found, not how fast (that is for
// benchmarks). The transport keeps its own 1 s round-trip timeout, after
// which it redials once, so a stale session still costs only a second.
const patientRPCTimeout = 10 * time.Second

// patient sets patientRPCTimeout on the nodes of opts, and keeps their
// transports at wire's own RPC timeout (a node stack would give them the
// node's).
func patient(opts Options) Options {
	nodeCfg, wireCfg := opts.Node, opts.Wire
	opts.Node = func(i int, c *node.Config) {
		c.RPCTimeout = patientRPCTimeout
		if nodeCfg != nil {
			nodeCfg(i, c)
		}
	}
	opts.Wire = func(i int, c *wire.Config) {
		c.RPCTimeout = wire.DefaultRPCTimeout
		if wireCfg != nil {
			wireCfg(i, c)
		}
	}
	return opts
}

// newNet makes a network in a temp dir that is closed when the test ends.
func newNet(tb testing.TB, opts Options) *Network {
	tb.Helper()
	opts.Dir = tb.TempDir()
	n, err := New(opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := n.Close(); err != nil {
			tb.Error(err)
		}
	})
	return n
}

func testCtx(tb testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	tb.Cleanup(cancel)
	return ctx
}

// add starts a node joined through seeds and waits for its join.
func add(tb testing.TB, n *Network, seeds ...kad.Endpoint) *Node {
	tb.Helper()
	m, err := n.Add(testCtx(tb), seeds...)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// growTimeout bounds growing a test network: a join takes up to a second
// or so on two shared cores under the race detector.
const growTimeout = 15 * time.Minute

// grow adds count nodes, each joined through a random earlier one.
func grow(tb testing.TB, n *Network, count int) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), growTimeout)
	defer cancel()
	if err := n.Grow(ctx, count); err != nil {
		tb.Fatal(err)
	}
}

// waitFor waits for cond, failing the test with what after testTimeout.
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	if err := WaitFor(testCtx(tb), cond); err != nil {
		tb.Fatalf("%s: %v", what, err)
	}
}

// listenOutside opens a transport with a fresh identity on the harness
// address of index i, outside the network's nodes; the caller closes it.
func listenOutside(tb testing.TB, i int) (*wire.Identity, *wire.Transport) {
	tb.Helper()
	id, err := wire.NewIdentity()
	if err != nil {
		tb.Fatal(err)
	}
	tr, err := wire.Listen(wire.Config{Identity: id, Network: DefaultNetwork, Listen: LoopbackAddr(i, 0).String()})
	if err != nil {
		tb.Fatal(err)
	}
	return id, tr
}

// entry returns m's routing-table entry for id, if any.
func entry(m *Node, id krpc.ID) (node.ContactStatus, bool) {
	for _, c := range m.Node().Nodes() {
		if c.ID == id {
			return c, true
		}
	}
	return node.ContactStatus{}, false
}

// lookup runs a lookup from m and fails the test on error, returning an
// empty result then. It reports with Errorf, not Fatalf, because the
// parallel tests call it from worker goroutines, where FailNow is not
// allowed; an empty result fails the caller's own checks as well.
func lookup(tb testing.TB, m *Node, target krpc.ID) node.LookupResult {
	tb.Helper()
	res, err := m.Node().Lookup(testCtx(tb), target)
	if err != nil {
		tb.Errorf("lookup of %x from node %d: %v", target, m.Index, err)
		return node.LookupResult{}
	}
	return res
}
