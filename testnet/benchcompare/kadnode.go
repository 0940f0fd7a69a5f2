package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/anacrolix/dht/v2/krpc"

	"github.com/kadnode/kadnode/kad"
	"github.com/kadnode/kadnode/node"
	"github.com/kadnode/kadnode/testnet"
	"github.com/kadnode/kadnode/wire"
)

// kadnodeNet is an N-node kadnode network built by the loopback harness:
// real DTLS transports, each node on its own 127.1.x.y address, and real
// Pebble stores in a temporary directory.
type kadnodeNet struct {
	k   int
	dir string
	net *testnet.Network

	mu      sync.Mutex
	members []*testnet.Node // by join-plan index
}

var quietLogger = slog.New(slog.DiscardHandler)

// newKadnodeNet makes an empty network of nodes with bucket size k and
// liveness-ping pause revalidate and prepared handshakes prepareAhead (0:
// the defaults), whose nodes send through line (nil: directly).
func newKadnodeNet(k int, revalidate time.Duration, prepareAhead int, seed uint64, line *delayLine) (*kadnodeNet, error) {
	dir, err := os.MkdirTemp("", "kadnode-benchcompare-")
	if err != nil {
		return nil, err
	}
	net, err := testnet.New(testnet.Options{
		Dir:     dir,
		Network: benchNetwork,
		Node: func(_ int, c *node.Config) {
			c.K, c.Alpha, c.RevalidateInterval, c.PrepareAhead = k, kadnodeAlpha, revalidate, prepareAhead
		},
		Wire: func(_ int, c *wire.Config) {
			c.WrapSocket = func(u *net.UDPConn) wire.Socket { return line.wrap(u) }
		},
		Seed: seed,
	})
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return &kadnodeNet{k: k, dir: dir, net: net}, nil
}

func (kn *kadnodeNet) name() string { return fmt.Sprintf("kadnode k=%d", kn.k) }

func (kn *kadnodeNet) grow(n int) {
	kn.mu.Lock()
	defer kn.mu.Unlock()
	for len(kn.members) < n {
		kn.members = append(kn.members, nil)
	}
}

func (kn *kadnodeNet) member(i int) *testnet.Node {
	kn.mu.Lock()
	defer kn.mu.Unlock()
	return kn.members[i]
}

func (kn *kadnodeNet) join(ctx context.Context, i, seed int) error {
	var seeds []kad.Endpoint
	if seed >= 0 {
		seeds = append(seeds, kn.member(seed).Contact())
	}
	m, err := kn.net.Add(ctx, seeds...)
	kn.mu.Lock()
	kn.members[i] = m
	kn.mu.Unlock()
	return err
}

// settle: kadnode inserts every authenticated caller, so a joined network
// needs nothing more.
func (kn *kadnodeNet) settle(ctx context.Context) error { return ctx.Err() }

// waitJoinsDone waits until every node's join has run to its end: joinAll
// returns once each has looked up its own ID, while the last ones are
// still refreshing their buckets with the join's sessions open.
func (kn *kadnodeNet) waitJoinsDone(ctx context.Context) error {
	for _, m := range kn.net.Nodes() {
		if err := m.WaitJoinDone(ctx); err != nil {
			return err
		}
	}
	return nil
}

func (kn *kadnodeNet) ids() []krpc.ID {
	kn.mu.Lock()
	defer kn.mu.Unlock()
	out := make([]krpc.ID, len(kn.members))
	for i, m := range kn.members {
		out[i] = m.ID
	}
	return out
}

func (kn *kadnodeNet) close() {
	kn.net.Close()
	os.RemoveAll(kn.dir)
}

func (kn *kadnodeNet) lookup(ctx context.Context, from int, target krpc.ID) lookupOutcome {
	m := kn.member(from)
	before := m.Transport().Stats()
	res, err := m.Node().Lookup(ctx, target)
	after := m.Transport().Stats()
	out := lookupOutcome{
		found:      res.Found,
		queries:    res.Stats.Queries,
		responses:  res.Stats.Responses,
		timeouts:   res.Stats.Timeouts,
		handshakes: after.Handshakes["ok"] - before.Handshakes["ok"],
		resumed:    after.Resumed - before.Resumed,
		err:        err,
	}
	for _, c := range res.Closest {
		out.closest = append(out.closest, c.ID)
	}
	return out
}

// transportTotals sums the transport counters of every node.
func (kn *kadnodeNet) transportTotals() wire.Stats {
	kn.mu.Lock()
	defer kn.mu.Unlock()
	total := wire.Stats{Handshakes: map[string]uint64{}, Dropped: map[string]uint64{}}
	for _, m := range kn.members {
		tr := m.Transport()
		if tr == nil {
			continue
		}
		st := tr.Stats()
		total.LiveSessions += st.LiveSessions
		total.PendingHandshakes += st.PendingHandshakes
		total.Resumed += st.Resumed
		total.Prepared += st.Prepared
		total.PreparedUsed += st.PreparedUsed
		for k, v := range st.Handshakes {
			total.Handshakes[k] += v
		}
		for k, v := range st.Dropped {
			total.Dropped[k] += v
		}
	}
	return total
}

// clientAddr is load client j's address: 127.3.x.y, one IP per client as
// for peers on a real network, apart from the nodes' addresses.
func clientAddr(j int) netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 3, byte(j >> 8), byte(j + 1)}), 0)
}

// serverAddr is anacrolix node i's address, 127.2.x.y, in the manner of
// the harness's 127.1.x.y for kadnode nodes.
func serverAddr(i int) netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 2, byte((i + 1) >> 8), byte(i + 1)}), 0)
}
