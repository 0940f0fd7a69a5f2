package sim

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/kadnode/kadnode/kad"
)

// newTestNetwork makes a network that is closed when the test ends.
func newTestNetwork(t *testing.T, cfg Config) *Network {
	t.Helper()
	n, err := NewNetwork(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// newTestEndpoint attaches an endpoint whose ID is b repeated.
func newTestEndpoint(t *testing.T, n *Network, b byte) *Endpoint {
	t.Helper()
	var id krpc.ID
	for i := range id {
		id[i] = b
	}
	e, err := n.NewEndpoint(id)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// recorder is a handler that answers pings with its own ID and remembers
// who asked.
type recorder struct {
	id    krpc.ID
	calls atomic.Int64
	last  atomic.Pointer[kad.Peer]
	lastQ atomic.Pointer[krpc.Msg]
}

func serveRecorder(e *Endpoint) *recorder {
	r := &recorder{id: e.LocalID()}
	e.Serve(func(from kad.Peer, q *krpc.Msg) *krpc.Msg {
		r.calls.Add(1)
		r.last.Store(&from)
		r.lastQ.Store(q)
		if q.Q == "fail" {
			return &krpc.Msg{E: &krpc.Error{Code: krpc.ErrorCodeProtocolError, Msg: "bad query"}}
		}
		if q.Q == "silent" {
			return nil
		}
		return &krpc.Msg{R: &krpc.Return{ID: r.id}}
	})
	return r
}

func pingFrom(e *Endpoint) *krpc.Msg {
	return &krpc.Msg{Q: "ping", A: &krpc.MsgArgs{ID: e.LocalID()}}
}

// newTestNATEndpoint attaches an endpoint whose ID is b repeated behind
// a NAT of the given kind.
func newTestNATEndpoint(t *testing.T, n *Network, b byte, kind NATKind) *Endpoint {
	t.Helper()
	var id krpc.ID
	for i := range id {
		id[i] = b
	}
	e, err := n.NewNATEndpoint(id, kind)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// natTrio makes a network of two public endpoints, a and c, and b behind
// a NAT of the given kind, which answers pings.
func natTrio(t *testing.T, kind NATKind) (n *Network, a, c, b *Endpoint) {
	t.Helper()
	n = newTestNetwork(t, Config{})
	a, c = newTestEndpoint(t, n, 0xaa), newTestEndpoint(t, n, 0xcc)
	b = newTestNATEndpoint(t, n, 0xbb, kind)
	serveRecorder(b)
	return n, a, c, b
}

// settledNATCluster builds a NAT network of nodes nodes (natTestCluster)
// and lets it settle for 3 minutes: long enough for every node to
// classify itself and for NAT'd nodes to register with rendezvous. It is
// closed when the test ends.
func settledNATCluster(t *testing.T, ctx context.Context, nodes int, seed uint64) *Cluster {
	t.Helper()
	c, err := NewCluster(ctx, natTestCluster(nodes, seed))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := sleepCtx(ctx, 3*time.Minute); err != nil {
		t.Fatal(err)
	}
	return c
}

// membersOf lists c's live members behind kind of NAT, in join order.
func (c *Cluster) membersOf(kind NATKind) []*Member {
	var out []*Member
	for _, m := range c.Members {
		if m.Endpoint.Kind() == kind && !m.Endpoint.Down() {
			out = append(out, m)
		}
	}
	return out
}

// missedConeNodes looks up every live cone node of c, the j-th from
// askerFor(j), one after another, and returns the join-order indexes of
// those not found at their external address, and how many were looked up.
func missedConeNodes(t *testing.T, ctx context.Context, c *Cluster, askerFor func(j int) *Member) (missed []int, cones int) {
	t.Helper()
	for i, m := range c.Members {
		if m.Endpoint.Kind() != Cone || m.Endpoint.Down() {
			continue
		}
		r, err := askerFor(cones).Node.Lookup(ctx, m.Endpoint.LocalID())
		cones++
		if err != nil || !r.Found || r.Addr != m.Endpoint.ExternalAddr() {
			missed = append(missed, i)
			t.Logf("missed cone node %d: err %v, %+v", i, err, r.Stats)
		}
	}
	return missed, cones
}
