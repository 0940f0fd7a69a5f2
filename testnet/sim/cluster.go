package sim

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"time"

	"github.com/anacrolix/dht/v2/krpc"

	"github.com/kadnode/kadnode/kad"
	"github.com/kadnode/kadnode/node"
)

// ClusterConfig describes a simulated network of kadnode nodes.
type ClusterConfig struct {
	Nodes int
	Net   Config
	// Node is the template of every node's configuration; Seeds is filled
	// in per node.
	Node node.Config
	// JoinParallel is how many nodes may be joining at once.
	JoinParallel int
	// Seed makes the node IDs and the choice of seeds reproducible.
	Seed uint64
	// MemoryOnly runs the nodes without a store (node.New with a nil
	// Store): no flusher goroutine and no second copy of each table, for
	// large networks where persistence is not what is measured.
	MemoryOnly bool
	// NAT, when set, puts shares of the nodes behind NATs and turns on
	// every node's NAT handling; the first node and every seed are public.
	NAT *NATMix
	// Progress, when set, is told how many nodes have joined; it is called
	// from one goroutine at a time.
	Progress func(joined, total int)
}

// Member is one node of a cluster with its transport and store (nil
// when the cluster is MemoryOnly).
type Member struct {
	Node     *node.Node
	Endpoint *Endpoint
	Store    *MemStore
}

// Cluster is a running simulated network.
type Cluster struct {
	Net     *Network
	Members []*Member
	// Build reports what joining the network cost.
	Build BuildStats
}

// BuildStats describes the building of a cluster.
type BuildStats struct {
	Duration      time.Duration // wall-clock time
	Simulated     time.Duration // the network's own (virtual) time
	HeapPerNode   float64       // bytes of live heap per node, store included
	StackPerNode  float64       // bytes of goroutine stacks per node
	Goroutines    float64       // goroutines per node once the joins are done
	QueriesToJoin float64       // network queries per node, join and bucket refresh
	// InDegree is, per node, how many other nodes hold it in a bucket: a
	// node nobody holds cannot be found.
	InDegree Summary
	// TableSize is, per node, how many contacts its buckets hold.
	TableSize Summary
	// Neighbours is, for a sample of nodes, how many of its own k nearest
	// nodes it holds: Kademlia's lookups rely on this being nearly k.
	Neighbours Summary
}

// NewCluster starts cfg.Nodes nodes one after another, each seeded with a
// random node that has already joined, and waits until every node has
// joined and the network is quiet (the joins' bucket refreshes are done).
func NewCluster(ctx context.Context, cfg ClusterConfig) (*Cluster, error) {
	if cfg.Nodes < 1 {
		return nil, fmt.Errorf("sim: a cluster needs at least one node, got %d", cfg.Nodes)
	}
	if cfg.JoinParallel < 1 {
		cfg.JoinParallel = 2 * runtime.GOMAXPROCS(0)
	}
	nw, err := NewNetwork(cfg.Net)
	if err != nil {
		return nil, err
	}
	c := &Cluster{Net: nw, Members: make([]*Member, 0, cfg.Nodes)}
	heap0, stack0 := memory()
	g0 := runtime.NumGoroutine()
	start, vstart := wallNow(), time.Now()
	if err := c.join(ctx, cfg); err != nil {
		c.Close()
		return nil, err
	}
	if err := c.WaitQuiet(ctx, quietPeriod); err != nil {
		c.Close()
		return nil, err
	}
	heap1, stack1 := memory()
	c.Build = BuildStats{
		Duration:      wallNow().Sub(start),
		Simulated:     time.Since(vstart),
		HeapPerNode:   float64(heap1-heap0) / float64(cfg.Nodes),
		StackPerNode:  float64(stack1-stack0) / float64(cfg.Nodes),
		Goroutines:    float64(runtime.NumGoroutine()-g0) / float64(cfg.Nodes),
		QueriesToJoin: float64(nw.Stats().Queries) / float64(cfg.Nodes),
	}
	c.Build.InDegree, c.Build.TableSize = c.degrees()
	c.Build.Neighbours = c.neighbours(cfg.Node.K, neighbourSample)
	return c, nil
}

// neighbours counts, for up to sample members spread over the cluster, how
// many of the member's own k nearest others sit in its buckets.
func (c *Cluster) neighbours(k, sample int) Summary {
	if k <= 0 {
		k = node.DefaultK
	}
	step := max(1, len(c.Members)/sample)
	var known []int
	for i := 0; i < len(c.Members); i += step {
		m := c.Members[i]
		have := make(map[krpc.ID]bool)
		for _, ci := range m.Node.Nodes() {
			if ci.State == bucketState {
				have[ci.ID] = true
			}
		}
		n := 0
		for _, id := range closestLive(c.Members, m, m.Endpoint.LocalID(), k) {
			if have[id] {
				n++
			}
		}
		known = append(known, n)
	}
	return summarize(known)
}

// degrees summarises how many nodes hold each node, and how many each
// node holds, counting bucket members only.
func (c *Cluster) degrees() (in, size Summary) {
	held := make(map[krpc.ID]int, len(c.Members))
	sizes := make([]int, 0, len(c.Members))
	for _, m := range c.Members {
		n := 0
		for _, ci := range m.Node.Nodes() {
			if ci.State == bucketState {
				held[ci.ID]++
				n++
			}
		}
		sizes = append(sizes, n)
	}
	degree := make([]int, 0, len(c.Members))
	for _, m := range c.Members {
		degree = append(degree, held[m.Endpoint.LocalID()])
	}
	return summarize(degree), summarize(sizes)
}

// join adds the nodes, at most cfg.JoinParallel joining at once.
func (c *Cluster) join(ctx context.Context, cfg ClusterConfig) error {
	ids := rand.New(rand.NewPCG(cfg.Seed, 0x6b61646e6f6465))
	seeds := rand.New(rand.NewPCG(cfg.Seed, 0x7365656473))
	kinds := rand.New(rand.NewPCG(cfg.Seed, 0x6e6174))
	var (
		mu     sync.Mutex
		joined []*Member // may serve as seeds
		public []*Member // joined and public: seeds
		wg     sync.WaitGroup
		errs   = make(chan error, cfg.Nodes)
		sem    = make(chan struct{}, cfg.JoinParallel)
	)
	defer wg.Wait()
	for i := range cfg.Nodes {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return fmt.Errorf("sim: building the network stopped after %d of %d nodes: %w", i, cfg.Nodes, ctx.Err())
		case err := <-errs:
			return err
		}
		id := randomID(ids)
		ncfg := cfg.Node
		kind := Public
		if cfg.NAT != nil {
			ncfg.NAT.Enabled = true
			if i > 0 {
				kind = cfg.NAT.draw(kinds)
			}
		}
		if i > 0 {
			mu.Lock()
			s := public[seeds.IntN(len(public))].Endpoint
			mu.Unlock()
			ncfg.Seeds = []kad.Endpoint{kad.EndpointOf(s.LocalID(), s.LocalAddr())}
		}
		m, err := c.add(id, kind, ncfg, !cfg.MemoryOnly)
		if err != nil {
			return err
		}
		if i == 0 {
			public = append(public, m)
			// The first node is the only one without a seed; every later
			// one needs a joined node to seed from, so this one goes in
			// first. (A second seedless node would start a second network.)
			joined = append(joined, m)
			<-sem
			continue
		}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := m.Node.WaitJoined(ctx); err != nil {
				errs <- fmt.Errorf("sim: node %x did not join: %w", m.Endpoint.LocalID(), err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			joined = append(joined, m)
			if kind == Public {
				public = append(public, m)
			}
			if cfg.Progress != nil {
				cfg.Progress(len(joined), cfg.Nodes)
			}
		})
	}
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}

// add starts one node on a fresh endpoint of the given kind, with a
// MemStore when withStore.
func (c *Cluster) add(id krpc.ID, kind NATKind, cfg node.Config, withStore bool) (*Member, error) {
	ep, err := c.Net.NewNATEndpoint(id, kind)
	if err != nil {
		return nil, err
	}
	var st *MemStore
	var nst node.Store // a nil *MemStore must stay a nil interface
	if withStore {
		st = NewMemStore()
		nst = st
	}
	n, err := node.New(cfg, ep, nst)
	if err != nil {
		ep.Close()
		return nil, fmt.Errorf("sim: starting node %x: %w", id, err)
	}
	m := &Member{Node: n, Endpoint: ep, Store: st}
	c.Members = append(c.Members, m)
	n.Start()
	return m, nil
}

// WaitQuiet waits until no find_node query has crossed the network for
// quiet, so that background lookups (a join's bucket refreshes) are over;
// revalidation pings go on and do not count.
func (c *Cluster) WaitQuiet(ctx context.Context, quiet time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, maxSettle)
	defer cancel()
	last := c.Net.Stats().FindNodes
	t := time.NewTicker(quiet)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("sim: the network did not go quiet within %v: %w", maxSettle, ctx.Err())
		case <-t.C:
		}
		now := c.Net.Stats().FindNodes
		if now == last {
			return nil
		}
		last = now
	}
}

// Close stops every node and the network; calls in flight return at once.
func (c *Cluster) Close() error {
	err := c.Net.Close()
	var wg sync.WaitGroup
	errs := make([]error, len(c.Members))
	for i, m := range c.Members {
		wg.Go(func() { errs[i] = m.Node.Close() })
	}
	wg.Wait()
	return errors.Join(append(errs, err)...)
}

// memory is the live heap after a full collection, and the memory of
// goroutine stacks.
func memory() (heap, stacks uint64) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc, ms.StackInuse
}
