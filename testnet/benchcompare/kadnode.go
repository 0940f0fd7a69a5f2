package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"github.com/anacrolix/dht/v2/krpc"

	"github.com/kadnode/kadnode/node"
	"github.com/kadnode/kadnode/store"
	"github.com/kadnode/kadnode/wire"
)

// kadnodeNet is an N-node kadnode network on 127.0.0.1: real DTLS
// transports and real Pebble stores in a temporary directory.
type kadnodeNet struct {
	k   int
	dir string

	mu      sync.Mutex
	members []*kadnodeMember
}

// kadnodeMember is one node with the transport and store it owns.
type kadnodeMember struct {
	id   krpc.ID
	tr   *wire.Transport
	st   *store.Store
	node *node.Node
}

var quietLogger = slog.New(slog.DiscardHandler)

func newKadnodeNet(k int) (*kadnodeNet, error) {
	dir, err := os.MkdirTemp("", "kadnode-benchcompare-")
	if err != nil {
		return nil, err
	}
	return &kadnodeNet{k: k, dir: dir}, nil
}

func (kn *kadnodeNet) name() string { return fmt.Sprintf("kadnode k=%d", kn.k) }

func (kn *kadnodeNet) grow(n int) {
	kn.mu.Lock()
	defer kn.mu.Unlock()
	for len(kn.members) < n {
		kn.members = append(kn.members, nil)
	}
}

func (kn *kadnodeNet) member(i int) *kadnodeMember {
	kn.mu.Lock()
	defer kn.mu.Unlock()
	return kn.members[i]
}

func (kn *kadnodeNet) join(ctx context.Context, i, seed int) error {
	var seeds []wire.Contact
	if seed >= 0 {
		s := kn.member(seed)
		addr := s.tr.LocalAddr()
		seeds = []wire.Contact{{ID: s.id, HasID: true, Host: addr.Addr().String(), Port: addr.Port()}}
	}
	m, err := startKadnode(filepath.Join(kn.dir, fmt.Sprint(i)), node.Config{
		K:      kn.k,
		Alpha:  kadnodeAlpha,
		Seeds:  seeds,
		Logger: quietLogger,
	})
	if err != nil {
		return err
	}
	kn.mu.Lock()
	kn.members[i] = m
	kn.mu.Unlock()
	return m.node.WaitJoined(ctx)
}

// startKadnode opens a transport and a store and starts a node on them.
func startKadnode(dir string, cfg node.Config) (*kadnodeMember, error) {
	ident, err := wire.NewIdentity()
	if err != nil {
		return nil, err
	}
	tr, err := wire.Listen(loopbackWireConfig(ident))
	if err != nil {
		return nil, fmt.Errorf("opening transport: %w", err)
	}
	st, err := store.Open(dir, store.Options{Network: benchNetwork, SelfID: ident.ID, Logger: quietLogger})
	if err != nil {
		tr.Close()
		return nil, fmt.Errorf("opening store: %w", err)
	}
	n, err := node.New(cfg, tr, st)
	if err != nil {
		tr.Close()
		st.Close()
		return nil, fmt.Errorf("making node: %w", err)
	}
	n.Start()
	return &kadnodeMember{id: ident.ID, tr: tr, st: st, node: n}, nil
}

// loopbackWireConfig is the transport configuration of every kadnode node
// and load client here.
func loopbackWireConfig(ident *wire.Identity) wire.Config {
	return wire.Config{
		Identity:                 ident,
		Network:                  benchNetwork,
		Listen:                   "127.0.0.1:0",
		HandshakesPerIPPerSecond: loopbackHandshakesPerIP,
		Logger:                   quietLogger,
	}
}

// settle: kadnode inserts every authenticated caller, so a joined network
// needs nothing more.
func (kn *kadnodeNet) settle(ctx context.Context) error { return ctx.Err() }

func (kn *kadnodeNet) ids() []krpc.ID {
	kn.mu.Lock()
	defer kn.mu.Unlock()
	out := make([]krpc.ID, len(kn.members))
	for i, m := range kn.members {
		out[i] = m.id
	}
	return out
}

func (kn *kadnodeNet) close() {
	kn.mu.Lock()
	members := kn.members
	kn.members = nil
	kn.mu.Unlock()
	var wg sync.WaitGroup
	for _, m := range members {
		if m != nil {
			wg.Go(func() { m.close() })
		}
	}
	wg.Wait()
	os.RemoveAll(kn.dir)
}

func (m *kadnodeMember) close() error {
	return errors.Join(m.node.Close(), m.tr.Close(), m.st.Close())
}

func (kn *kadnodeNet) lookup(ctx context.Context, from int, target krpc.ID) lookupOutcome {
	res, err := kn.member(from).node.Lookup(ctx, target)
	out := lookupOutcome{
		found:     res.Found,
		queries:   res.Stats.Queries,
		responses: res.Stats.Responses,
		timeouts:  res.Stats.Timeouts,
		err:       err,
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
		if m == nil {
			continue
		}
		st := m.tr.Stats()
		total.LiveSessions += st.LiveSessions
		total.PendingHandshakes += st.PendingHandshakes
		for k, v := range st.Handshakes {
			total.Handshakes[k] += v
		}
		for k, v := range st.Dropped {
			total.Dropped[k] += v
		}
	}
	return total
}
