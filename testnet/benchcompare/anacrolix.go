package main

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"

	"github.com/anacrolix/dht/v2"
	"github.com/anacrolix/dht/v2/bep44"
	knearest "github.com/anacrolix/dht/v2/k-nearest-nodes"
	"github.com/anacrolix/dht/v2/krpc"
	"github.com/anacrolix/dht/v2/traversal"
	alog "github.com/anacrolix/log"
	"golang.org/x/time/rate"
)

// anacrolixNet is an N-node network of anacrolix/dht servers on 127.0.0.1.
// Each server gets its own unlimited send limiter (the package default is one
// 25 msg/s limiter shared by every server in the process, which drops
// replies), only our own nodes as starting nodes (the default resolves
// public routers by DNS), and its own BEP 44 store, which the values phase
// reads to count the nodes that stored an item.
type anacrolixNet struct {
	line    *delayLine // the servers send through it; nil: directly
	mu      sync.Mutex
	servers []*dht.Server
	stores  []*bep44.Memory
	// pinged records, per server, the table entries it has pinged, so that
	// a ping round only pings entries that never answered it.
	pinged []map[string]struct{}
}

// newAnacrolixNet makes an empty network whose servers send through line
// (nil: directly).
func newAnacrolixNet(line *delayLine) *anacrolixNet { return &anacrolixNet{line: line} }

func (a *anacrolixNet) name() string { return "anacrolix" }

func (a *anacrolixNet) grow(n int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for len(a.servers) < n {
		a.servers = append(a.servers, nil)
		a.stores = append(a.stores, nil)
		a.pinged = append(a.pinged, map[string]struct{}{})
	}
}

func (a *anacrolixNet) server(i int) *dht.Server {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.servers[i]
}

func (a *anacrolixNet) join(ctx context.Context, i, seed int) error {
	conn, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(serverAddr(i)))
	if err != nil {
		return err
	}
	store := bep44.NewMemory()
	cfg := &dht.ServerConfig{
		Conn:        a.line.wrap(conn),
		NoSecurity:  true, // loopback addresses: BEP 42 IDs do not apply
		SendLimiter: rate.NewLimiter(rate.Inf, 0),
		Logger:      alog.Default.FilterLevel(alog.Critical),
		Store:       store,
		Exp:         anacrolixItemExpiry,
	}
	if seed >= 0 {
		seedAddr := a.server(seed).Addr()
		cfg.StartingNodes = func() ([]dht.Addr, error) { return []dht.Addr{dht.NewAddr(seedAddr)}, nil }
	}
	s, err := dht.NewServer(cfg)
	if err != nil {
		conn.Close()
		return err
	}
	a.mu.Lock()
	a.servers[i], a.stores[i] = s, store
	a.mu.Unlock()
	if seed < 0 {
		return nil
	}
	_, err = s.BootstrapContext(ctx)
	return err
}

// settle runs one round of pings from every server to every table entry it
// has not pinged yet: the first step of anacrolix's own table maintenance.
// Without it a server advertises none of the nodes that only queried it.
func (a *anacrolixNet) settle(ctx context.Context) error {
	type job struct {
		s    *dht.Server
		addr krpc.NodeAddr
	}
	jobs := make(chan job)
	var wg sync.WaitGroup
	for range pingWindow {
		wg.Go(func() {
			for j := range jobs {
				j.s.Ping(j.addr.UDP())
			}
		})
	}
	a.mu.Lock()
	servers := append([]*dht.Server(nil), a.servers...)
	a.mu.Unlock()
feed:
	for i, s := range servers {
		for _, ni := range s.Nodes() {
			key := ni.Addr.String()
			a.mu.Lock()
			_, done := a.pinged[i][key]
			a.pinged[i][key] = struct{}{}
			a.mu.Unlock()
			if done {
				continue
			}
			select {
			case jobs <- job{s, ni.Addr}:
			case <-ctx.Done():
				break feed
			}
		}
	}
	close(jobs)
	wg.Wait()
	return ctx.Err()
}

func (a *anacrolixNet) ids() []krpc.ID {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]krpc.ID, len(a.servers))
	for i, s := range a.servers {
		out[i] = s.ID()
	}
	return out
}

func (a *anacrolixNet) close() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, s := range a.servers {
		if s != nil {
			s.Close()
		}
	}
	a.servers = nil
}

// getPeersLookup runs anacrolix's traversal with get_peers queries, whose
// handler routes by the target (info_hash).
func (a *anacrolixNet) getPeersLookup(ctx context.Context, from int, target krpc.ID) lookupOutcome {
	s := a.server(from)
	return a.traverse(ctx, s, target, func(ctx context.Context, addr krpc.NodeAddr) dht.QueryResult {
		return s.GetPeers(ctx, dht.NewAddr(addr.UDP()), target.Int160(), false, dht.QueryRateLimiting{})
	})
}

// findNodeLookup runs the same traversal with find_node queries. In v2.23.0
// the find_node handler takes its target from info_hash, which find_node
// does not carry, so every answer is the responder's nodes closest to zero.
func (a *anacrolixNet) findNodeLookup(ctx context.Context, from int, target krpc.ID) lookupOutcome {
	s := a.server(from)
	return a.traverse(ctx, s, target, func(_ context.Context, addr krpc.NodeAddr) dht.QueryResult {
		return s.FindNode(dht.NewAddr(addr.UDP()), target.Int160(), dht.QueryRateLimiting{})
	})
}

// traverse is anacrolix's own iterative lookup (traversal.Operation with
// its K and α), started from the server's whole table as its Bootstrap and
// Announce do. It is driven directly because Announce keeps only nodes that
// returned a write token in its closest set, and servers without a peer
// store return none.
func (a *anacrolixNet) traverse(ctx context.Context, s *dht.Server, target krpc.ID,
	query func(context.Context, krpc.NodeAddr) dht.QueryResult) lookupOutcome {
	var timeouts atomic.Int32
	op := traversal.Start(traversal.OperationInput{
		Target:     target,
		K:          anacrolixK,
		Alpha:      anacrolixAlpha,
		NodeFilter: s.TraversalNodeFilter,
		DoQuery: func(ctx context.Context, addr krpc.NodeAddr) traversal.QueryResult {
			res := query(ctx, addr)
			if errors.Is(res.Err, dht.TransactionTimeout) {
				timeouts.Add(1)
			}
			return res.TraversalQueryResult(addr)
		},
	})
	var out lookupOutcome
	nodes, err := s.TraversalStartingNodes()
	if err == nil {
		op.AddNodes(nodes)
		select {
		case <-op.Stalled():
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	op.Stop()
	<-op.Stopped()
	out.err = err
	op.Closest().Range(func(e knearest.Elem) {
		out.closest = append(out.closest, e.ID)
		if e.ID == target {
			out.found = true
		}
	})
	st := op.Stats()
	out.queries = int(atomic.LoadUint32(&st.NumAddrsTried))
	out.responses = int(atomic.LoadUint32(&st.NumResponses))
	out.timeouts = int(timeouts.Load())
	return out
}
