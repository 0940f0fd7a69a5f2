package testnet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"path/filepath"
	"sync"
	"time"

	"github.com/anacrolix/dht/v2/krpc"

	"github.com/kadnode/kadnode/kad"
	"github.com/kadnode/kadnode/node"
	"github.com/kadnode/kadnode/node/stack"
	"github.com/kadnode/kadnode/store"
	"github.com/kadnode/kadnode/wire"
)

// Options configure an in-process loopback network.
type Options struct {
	// Dir holds one data dir per node (node key and Pebble store), e.g. a
	// test's t.TempDir(). Required.
	Dir string
	// Network is the network name; empty means DefaultNetwork.
	Network string
	// Node adjusts node i's configuration (seeds are set by the harness).
	Node func(i int, c *node.Config)
	// Wire adjusts node i's transport configuration.
	Wire func(i int, c *wire.Config)
	// Logger receives every node's log, tagged with its index; nil
	// discards.
	Logger *slog.Logger
	// Seed makes the choice of seeds reproducible; 0 picks one at random.
	Seed uint64
}

// Network is a set of real nodes in this process: each has its own DTLS
// transport on its own loopback address and its own Pebble store.
type Network struct {
	opts Options

	mu    sync.Mutex
	nodes []*Node
	rng   *rand.Rand
}

// New makes an empty network.
func New(opts Options) (*Network, error) {
	if opts.Dir == "" {
		return nil, errors.New("testnet: Options.Dir is empty; give a directory for the nodes' data, e.g. t.TempDir()")
	}
	if opts.Network == "" {
		opts.Network = DefaultNetwork
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	seed := opts.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	return &Network{opts: opts, rng: rand.New(rand.NewPCG(seed, 0))}, nil
}

// Node is one member of a Network. Between Stop (or Kill) and Restart its
// Node, Transport and Store are nil.
type Node struct {
	Index int
	Dir   string
	ID    krpc.ID
	Addr  netip.AddrPort // the same across restarts

	net *Network

	mu        sync.Mutex
	node      *node.Node
	transport *wire.Transport
	store     *store.Store
}

// Add starts a new node joined through seeds (none: it is the first node)
// and waits until its join is done.
func (n *Network) Add(ctx context.Context, seeds ...kad.Endpoint) (*Node, error) {
	m := n.newNode("")
	if err := m.start(ctx, LoopbackAddr(m.Index, 0), seeds); err != nil {
		return m, err
	}
	return m, m.WaitJoined(ctx)
}

// Adopt starts a node on an existing data dir at listen, e.g. one that a
// killed process left behind, without waiting for its join.
func (n *Network) Adopt(ctx context.Context, dir string, listen netip.AddrPort, seeds ...kad.Endpoint) (*Node, error) {
	m := n.newNode(dir)
	return m, m.start(ctx, listen, seeds)
}

// newNode registers a node with data dir dir (empty: a fresh one).
func (n *Network) newNode(dir string) *Node {
	n.mu.Lock()
	defer n.mu.Unlock()
	i := len(n.nodes)
	if dir == "" {
		dir = filepath.Join(n.opts.Dir, fmt.Sprintf("node%04d", i))
	}
	m := &Node{Index: i, Dir: dir, net: n}
	n.nodes = append(n.nodes, m)
	return m
}

// LoopbackAddr is the address the harness gives node i (port 0: any
// free port); each node has its own IP in 127.0.0.0/8, so that per-IP
// limits and IP-keyed state see distinct hosts as on a real network.
func LoopbackAddr(i int, port uint16) netip.AddrPort {
	host := i + 1 // 127.1.0.0 would be a network address on a /16
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 1, byte(host >> 8), byte(host)}), port)
}

// Grow adds count nodes one after the other, each joined through a random
// running node added before it (the very first starts alone).
func (n *Network) Grow(ctx context.Context, count int) error {
	return n.GrowConcurrently(ctx, count, 1)
}

// GrowConcurrently adds count nodes, up to parallel of them joining at
// once, each through a random running node that finished its join
// before it started (the very first starts alone).
func (n *Network) GrowConcurrently(ctx context.Context, count, parallel int) error {
	parallel = max(parallel, 1)
	if len(n.Running()) == 0 && count > 0 {
		if _, err := n.Add(ctx); err != nil {
			return err
		}
		count--
	}
	for count > 0 {
		batch := min(count, parallel)
		errs := make([]error, batch)
		var wg sync.WaitGroup
		for i := range batch {
			seed := n.randomRunning().Contact()
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = n.Add(ctx, seed)
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return err
		}
		count -= batch
	}
	return nil
}

// randomRunning picks a running node, or nil if none runs.
func (n *Network) randomRunning() *Node {
	running := n.Running()
	if len(running) == 0 {
		return nil
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return running[n.rng.IntN(len(running))]
}

// Nodes returns every node ever added, running or not, by index.
func (n *Network) Nodes() []*Node {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]*Node(nil), n.nodes...)
}

// Running returns the nodes that are running, by index.
func (n *Network) Running() []*Node {
	var out []*Node
	for _, m := range n.Nodes() {
		if m.Running() {
			out = append(out, m)
		}
	}
	return out
}

// LiveSessions is the number of established DTLS sessions over all the
// running nodes (a session between two of them counts at both ends).
func (n *Network) LiveSessions() int {
	total := 0
	for _, m := range n.Running() {
		if tr := m.Transport(); tr != nil {
			total += tr.Stats().LiveSessions
		}
	}
	return total
}

// Close stops every running node cleanly, all at once.
func (n *Network) Close() error {
	nodes := n.Nodes()
	errs := make([]error, len(nodes))
	var wg sync.WaitGroup
	for i, m := range nodes {
		wg.Go(func() { errs[i] = m.Stop() })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// start opens the node's key, store and socket at listen and starts it.
func (m *Node) start(ctx context.Context, listen netip.AddrPort, seeds []kad.Endpoint) (err error) {
	o := m.net.opts
	log := o.Logger.With("node", m.Index)
	nc := node.Config{}
	if o.Node != nil {
		o.Node(m.Index, &nc)
	}
	nc.Seeds = seeds
	st, err := stack.Open(stack.Config{
		DataDir: m.Dir, Network: o.Network, Listen: listen.String(), Node: nc, Logger: log,
		Wire: func(c *wire.Config) {
			if o.Wire != nil {
				o.Wire(m.Index, c)
			}
		},
		Store: func(so *store.Options) { so.MemTableSize, so.CacheSize = StoreMemTableSize, StoreCacheSize },
	})
	if err != nil {
		return err
	}
	id, tr, nd := st.Identity, st.Transport, st.Node
	m.mu.Lock()
	m.ID, m.Addr = id.ID, tr.LocalAddr()
	m.node, m.transport, m.store = nd, tr, st.Store
	m.mu.Unlock()
	nd.Start()
	return ctx.Err()
}

// Node is the running kadnode node, or nil when stopped.
func (m *Node) Node() *node.Node {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.node
}

// Transport is the node's transport, or nil when stopped.
func (m *Node) Transport() *wire.Transport {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.transport
}

// Store is the node's store, or nil when stopped.
func (m *Node) Store() *store.Store {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.store
}

// Running reports whether the node runs.
func (m *Node) Running() bool { return m.Node() != nil }

// Contact is the node's contact, ID@addr.
func (m *Node) Contact() kad.Endpoint {
	m.mu.Lock()
	defer m.mu.Unlock()
	return kad.EndpointOf(m.ID, m.Addr)
}

// WaitJoined waits until the node has joined (node.Node.WaitJoined).
func (m *Node) WaitJoined(ctx context.Context) error {
	return m.wait(ctx, (*node.Node).WaitJoined)
}

// WaitJoinDone waits until the node's first join has run to its end,
// bucket refreshes included (node.Node.WaitJoinDone).
func (m *Node) WaitJoinDone(ctx context.Context) error {
	return m.wait(ctx, (*node.Node).WaitJoinDone)
}

func (m *Node) wait(ctx context.Context, until func(*node.Node, context.Context) error) error {
	nd := m.Node()
	if nd == nil {
		return fmt.Errorf("testnet: node %d is not running", m.Index)
	}
	if err := until(nd, ctx); err != nil {
		return fmt.Errorf("testnet: node %d: %w", m.Index, err)
	}
	return nil
}

// Stop shuts the node down cleanly: its loops end, then its socket
// closes, then the store syncs and unlocks.
func (m *Node) Stop() error {
	return m.detach().Close()
}

// Kill makes the node vanish from the network at once: the socket closes
// first, in the middle of whatever the node was doing, and nothing tells
// its peers. (A real SIGKILL, which also skips the store's shutdown, needs
// a separate process; see the restart tests.)
func (m *Node) Kill() error {
	return m.detach().Kill()
}

// detach takes the running node's parts away from m, leaving it stopped;
// the caller closes them (all nil if it was not running).
func (m *Node) detach() *stack.Stack {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := &stack.Stack{Node: m.node, Transport: m.transport, Store: m.store}
	m.node, m.transport, m.store = nil, nil, nil
	return s
}

// Restart starts a stopped node again on the same data dir and address,
// with the given seeds (none: it rejoins through its stored contacts). It
// does not wait for the join.
func (m *Node) Restart(ctx context.Context, seeds ...kad.Endpoint) error {
	if m.Running() {
		return fmt.Errorf("testnet: node %d is running; stop it first", m.Index)
	}
	m.mu.Lock()
	addr := m.Addr
	m.mu.Unlock()
	return m.start(ctx, addr, seeds)
}

// WaitFor polls cond until it holds or ctx ends.
func WaitFor(ctx context.Context, cond func() bool) error {
	t := time.NewTicker(WaitPollInterval)
	defer t.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("testnet: condition not met: %w", ctx.Err())
		case <-t.C:
		}
	}
	return nil
}
