package node

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/kadnode/kadnode/kad"
)

// fakeNet is an in-memory network for node unit tests: a Call runs the
// callee's handler in the caller's goroutine. A missing, closed or down
// endpoint lets the call run into its deadline, as a vanished host does.
type fakeNet struct {
	mu    sync.Mutex
	eps   map[netip.AddrPort]*fakeTransport
	next  uint16
	calls atomic.Uint64
	// latency delays every call before it is delivered (virtual time
	// under synctest); set it before any node starts.
	latency time.Duration
}

func newFakeNet() *fakeNet { return &fakeNet{eps: make(map[netip.AddrPort]*fakeTransport), next: 1000} }

type fakeTransport struct {
	net     *fakeNet
	id      krpc.ID
	addr    netip.AddrPort
	handler atomic.Pointer[kad.Handler]
	down    atomic.Bool
	// dropNext makes the next calls to this endpoint from dropFrom go
	// unanswered, as lost datagrams do.
	dropNext atomic.Int32
	dropFrom atomic.Pointer[netip.AddrPort]
	// pings counts the pings this endpoint sent; pingScopes holds the
	// scopes of those marked to close the session they open once done
	// (kad.Transient with nothing kept).
	pings      atomic.Int32
	pingScopes sync.Map // *krpc.Msg → kad.TransientScope
	// prep records Prepare and the first call to each address.
	prep prepareLog
	// probes counts the calls marked kad.Probe.
	probes atomic.Int32
	// findKeepNone and findKeepSome count the find_node queries sent
	// under a transient scope that keeps no session, and under one
	// whose keep is set (lookupWith); noneScopes holds the distinct
	// scopes of the former.
	findKeepNone, findKeepSome atomic.Int32
	noneScopes                 sync.Map // context.Context → struct{}
}

// endpoint attaches a transport with a random ID at a fresh address.
func (f *fakeNet) endpoint() *fakeTransport {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.next++
	return f.attachLocked(krpc.RandomNodeID(), netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), f.next))
}

// attach puts a transport with id at addr (replacing whatever was there).
func (f *fakeNet) attach(id krpc.ID, addr netip.AddrPort) *fakeTransport {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.attachLocked(id, addr)
}

func (f *fakeNet) attachLocked(id krpc.ID, addr netip.AddrPort) *fakeTransport {
	t := &fakeTransport{net: f, id: id, addr: addr}
	f.eps[addr] = t
	return t
}

func (f *fakeNet) at(addr netip.AddrPort) *fakeTransport {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.eps[addr]
}

func (t *fakeTransport) LocalID() krpc.ID          { return t.id }
func (t *fakeTransport) LocalAddr() netip.AddrPort { return t.addr }
func (t *fakeTransport) Serve(h kad.Handler)       { t.handler.Store(&h) }

func (t *fakeTransport) Close() error {
	t.down.Store(true)
	return nil
}

func (t *fakeTransport) Call(ctx context.Context, addr netip.AddrPort, expect *krpc.ID, q *krpc.Msg) (kad.Peer, *krpc.Msg, error) {
	t.net.calls.Add(1)
	t.prep.called(addr)
	if kad.IsProbe(ctx) {
		t.probes.Add(1)
	}
	if q.Q == kad.MethodPing {
		t.pings.Add(1)
		if scope, ok := kad.TransientOf(ctx); ok && scope.Keep == nil {
			t.pingScopes.Store(q, scope)
		}
	}
	if q.Q == kad.MethodFindNode {
		if scope, ok := kad.TransientOf(ctx); ok && scope.Keep == nil {
			t.findKeepNone.Add(1)
			t.noneScopes.Store(scope.Ctx, struct{}{})
		} else if ok {
			t.findKeepSome.Add(1)
		}
	}
	if t.net.latency > 0 {
		time.Sleep(t.net.latency)
	}
	dst := t.net.at(addr)
	if t.down.Load() || dst == nil || dst.down.Load() || dst.handler.Load() == nil || dst.dropped(t.addr) {
		<-ctx.Done()
		return kad.Peer{}, nil, fmt.Errorf("fake: no answer from %s: %w", addr, ctx.Err())
	}
	if expect != nil && *expect != dst.id {
		return kad.Peer{}, nil, fmt.Errorf("fake: %s authenticated as %x, expected %x", addr, dst.id, *expect)
	}
	cq := *q
	cq.T, cq.Y = "aa", krpc.YQuery
	reply := (*dst.handler.Load())(kad.Peer{ID: t.id, Addr: t.addr}, &cq)
	if reply == nil {
		<-ctx.Done()
		return kad.Peer{}, nil, fmt.Errorf("fake: no answer from %s: %w", addr, ctx.Err())
	}
	from := kad.Peer{ID: dst.id, Addr: dst.addr}
	if reply.E != nil {
		return from, reply, reply.E
	}
	return from, reply, nil
}

// testNode is a node on a fakeNet with its store.
type testNode struct {
	*Node
	tr *fakeTransport
	st *fakeStore
}

// startNode starts a node on net with cfg (seeds and all) and registers
// its Close.
func startNode(tb testing.TB, fn *fakeNet, cfg Config) *testNode {
	tb.Helper()
	return startNodeOn(tb, fn.endpoint(), newFakeStore(), cfg)
}

func startNodeOn(tb testing.TB, tr *fakeTransport, st *fakeStore, cfg Config) *testNode {
	tb.Helper()
	if cfg.RPCTimeout == 0 {
		cfg.RPCTimeout = 200 * time.Millisecond
	}
	n, err := New(cfg, tr, st)
	if err != nil {
		tb.Fatal(err)
	}
	n.Start()
	tb.Cleanup(func() { n.Close() })
	return &testNode{Node: n, tr: tr, st: st}
}

// contact is the node's contact as a seed.
func (n *testNode) contact() kad.Endpoint {
	return kad.EndpointOf(n.tr.id, n.tr.addr)
}

// waitJoined waits for the node's join with a deadline.
func waitJoined(tb testing.TB, n *testNode) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := n.WaitJoined(ctx); err != nil {
		tb.Fatal(err)
	}
}

// fakeNetwork starts size nodes, each joined through a random earlier
// one (the first alone), waiting for each join.
func fakeNetwork(tb testing.TB, fn *fakeNet, size int, cfg Config) []*testNode {
	tb.Helper()
	r := newRand(uint64(size))
	var nodes []*testNode
	for i := range size {
		c := cfg
		if i > 0 {
			c.Seeds = []kad.Endpoint{nodes[r.IntN(i)].contact()}
		}
		n := startNode(tb, fn, c)
		waitJoined(tb, n)
		nodes = append(nodes, n)
	}
	return nodes
}

// trueClosest returns the k IDs of ids closest to target.
func trueClosest(ids []krpc.ID, target krpc.ID, k int) []krpc.ID {
	s := slices.Clone(ids)
	slices.SortFunc(s, func(a, b krpc.ID) int { return CompareDistance(target, a, b) })
	return s[:min(k, len(s))]
}

// eventually polls cond until it holds, failing the test after 20s.
func eventually(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// dropOnce makes the next n calls from caller go unanswered.
func (t *fakeTransport) dropOnce(caller netip.AddrPort, n int32) {
	t.dropFrom.Store(&caller)
	t.dropNext.Store(n)
}

// dropped consumes one of dropNext for a call from caller, reporting
// whether this call is lost.
func (t *fakeTransport) dropped(caller netip.AddrPort) bool {
	if from := t.dropFrom.Load(); from == nil || *from != caller {
		return false
	}
	for {
		n := t.dropNext.Load()
		if n <= 0 {
			return false
		}
		if t.dropNext.CompareAndSwap(n, n-1) {
			return true
		}
	}
}

// sessionFake is a fake transport that reports whether sessions are live.
type sessionFake struct {
	*fakeTransport
	live atomic.Bool
}

func (s *sessionFake) HasSession(netip.AddrPort) bool { return s.live.Load() }

// newNATTestNode makes a node with NAT handling on, over a sessionFake;
// it is closed when the test ends.
func newNATTestNode(t *testing.T) (*Node, *sessionFake) {
	t.Helper()
	tr := &sessionFake{fakeTransport: newFakeNet().endpoint()}
	n, err := New(Config{NAT: NATConfig{Enabled: true}}, tr, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n, tr
}

// endedTransientPings counts the pings marked to close their session
// once done whose scope has ended.
func (t *fakeTransport) endedTransientPings() int {
	n := 0
	t.pingScopes.Range(func(_, v any) bool {
		if v.(kad.TransientScope).Ctx.Err() != nil {
			n++
		}
		return true
	})
	return n
}

// scopesKeepingNone counts the distinct transient scopes, keeping no
// session, that find_node queries were sent under.
func (t *fakeTransport) scopesKeepingNone() int {
	n := 0
	t.noneScopes.Range(func(_, _ any) bool { n++; return true })
	return n
}
