// Package sim is an in-memory network for kadnode nodes: Endpoint implements
// node.Transport without sockets or crypto, with configurable latency, loss
// and failed nodes, so that tens of thousands of unchanged nodes run in one
// process.
package sim

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/anacrolix/dht/v2/krpc"
)

// Config sets the behaviour of a simulated network; zero values mean no
// latency, no loss and DefaultTimeout.
type Config struct {
	// Latency is the one-way delay of every datagram; Jitter adds a uniform
	// random extra delay in [0, Jitter).
	Latency time.Duration
	Jitter  time.Duration
	// RTTMin and RTTMax, when RTTMax is set, give every pair of endpoints
	// its own base round-trip time, drawn once per pair (a path keeps its
	// length) uniformly from [RTTMin, RTTMax]; each datagram takes half of
	// it on top of Latency and Jitter.
	RTTMin, RTTMax time.Duration
	// Tick, when set, moves every delivery and every unanswered call's
	// end to the next multiple of Tick on the clock. In virtual time each
	// distinct instant runs on its own, after the whole bubble has gone
	// idle; on a grid, everything due in one tick runs together, on every
	// core. The price is at most Tick of extra delay per datagram.
	Tick time.Duration
	// Loss is the probability that one datagram (query or reply) is lost.
	Loss float64
	// Timeout is how long a Call waits before it reports a timeout when no
	// answer is coming.
	Timeout time.Duration
	// Seed makes loss and jitter reproducible for a given call order.
	Seed uint64
	// SkipEncoding hands messages over as copies instead of bencoding them.
	// Encoding is the default: it proves every message is encodable and
	// measures its size, at some CPU cost.
	SkipEncoding bool
}

func (c Config) validate() error {
	switch {
	case c.Latency < 0 || c.Jitter < 0:
		return fmt.Errorf("sim: latency %v and jitter %v must not be negative", c.Latency, c.Jitter)
	case c.RTTMin < 0 || c.RTTMax < c.RTTMin:
		return fmt.Errorf("sim: round-trip range [%v, %v] must be non-negative and not reversed", c.RTTMin, c.RTTMax)
	case c.Loss < 0 || c.Loss > 1:
		return fmt.Errorf("sim: loss %v must be a probability between 0 and 1", c.Loss)
	case c.Tick < 0:
		return fmt.Errorf("sim: tick %v must not be negative (0 means none)", c.Tick)
	case c.Timeout < 0:
		return fmt.Errorf("sim: timeout %v must not be negative (0 means %v)", c.Timeout, DefaultTimeout)
	}
	return nil
}

// Stats counts what crossed the simulated network.
type Stats struct {
	Queries   uint64 // Calls made
	FindNodes uint64 // of which find_node: lookups, as opposed to pings
	Delivered uint64 // queries that reached a live handler
	Replies   uint64 // replies that reached the caller
	Lost      uint64 // datagrams dropped by Loss
	Dead      uint64 // queries to a failed, closed or unknown address
	Filtered  uint64 // queries a NAT's filter dropped until the call gave up
	Timeouts  uint64 // Calls that ended without an answer
	Bytes     uint64 // encoded bytes of queries and replies (0 with SkipEncoding)
}

// Network is a set of simulated endpoints that reach each other in memory.
type Network struct {
	cfg Config

	mu        sync.RWMutex
	endpoints map[netip.AddrPort]*Endpoint
	behind    map[netip.Addr]*Endpoint // NAT'd endpoints, by external IP
	kinds     map[krpc.ID]NATKind      // NAT'd endpoints' kinds, by ID
	anyNAT    atomic.Bool              // some endpoint is NAT'd
	nextAddr  uint32
	closed    bool

	rngMu sync.Mutex
	rng   *rand.Rand

	stats struct {
		queries, findNodes, delivered, replies, lost, dead, filtered, timeouts, bytes atomic.Uint64
	}
	handouts handouts
	wakes    wakes
}

// ErrNetworkClosed is returned by NewEndpoint after Close.
var ErrNetworkClosed = errors.New("sim: network is closed")

// NewNetwork makes an empty network.
func NewNetwork(cfg Config) (*Network, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	return &Network{
		cfg:       cfg,
		endpoints: make(map[netip.AddrPort]*Endpoint),
		behind:    make(map[netip.Addr]*Endpoint),
		kinds:     make(map[krpc.ID]NATKind),
		rng:       rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
	}, nil
}

// NewEndpoint attaches a node with the given ID at the next free address.
// The ID is the node's authenticated identity: the simulation has no
// certificates, so whatever ID the caller assigns is what peers see.
func (n *Network) NewEndpoint(id krpc.ID) (*Endpoint, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	ip, err := n.allocLocked()
	if err != nil {
		return nil, err
	}
	addr := netip.AddrPortFrom(ip, Port)
	e := newEndpoint(n, id, addr)
	n.endpoints[addr] = e
	return e, nil
}

// allocLocked takes the next free loopback address.
func (n *Network) allocLocked() (netip.Addr, error) {
	if n.closed {
		return netip.Addr{}, ErrNetworkClosed
	}
	if n.nextAddr >= maxEndpoints {
		return netip.Addr{}, fmt.Errorf("sim: address space full (%d endpoints)", maxEndpoints)
	}
	n.nextAddr++
	a := n.nextAddr
	return netip.AddrFrom4([4]byte{127, byte(a >> 16), byte(a >> 8), byte(a)}), nil
}

// Endpoint returns the endpoint at addr, or nil.
func (n *Network) Endpoint(addr netip.AddrPort) *Endpoint {
	n.mu.RLock()
	defer n.mu.RUnlock()
	if e := n.endpoints[addr]; e != nil {
		return e
	}
	return n.behind[addr.Addr()]
}

// Len is the number of attached endpoints (failed ones included).
func (n *Network) Len() int {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return len(n.endpoints) + len(n.behind)
}

// Stats snapshots the network's counters.
func (n *Network) Stats() Stats {
	s := &n.stats
	return Stats{
		Queries: s.queries.Load(), FindNodes: s.findNodes.Load(), Delivered: s.delivered.Load(), Replies: s.replies.Load(),
		Lost: s.lost.Load(), Dead: s.dead.Load(), Filtered: s.filtered.Load(), Timeouts: s.timeouts.Load(), Bytes: s.bytes.Load(),
	}
}

// Close closes every endpoint; calls in flight return at once.
func (n *Network) Close() error {
	n.mu.Lock()
	n.closed = true
	eps := make([]*Endpoint, 0, len(n.endpoints))
	for _, e := range n.endpoints {
		eps = append(eps, e)
	}
	for _, e := range n.behind {
		eps = append(eps, e)
	}
	n.mu.Unlock()
	for _, e := range eps {
		e.Close()
	}
	return nil
}

func (n *Network) detach(e *Endpoint) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.endpoints[e.addr] == e {
		delete(n.endpoints, e.addr)
	}
	if e.nat != nil && n.behind[e.nat.ext] == e {
		delete(n.behind, e.nat.ext)
	}
}

// lose reports whether one datagram is dropped.
func (n *Network) lose() bool {
	if n.cfg.Loss == 0 {
		return false
	}
	n.rngMu.Lock()
	defer n.rngMu.Unlock()
	return n.rng.Float64() < n.cfg.Loss
}

// delay is one datagram's transit time between a and b.
func (n *Network) delay(a, b netip.AddrPort) time.Duration {
	d := n.cfg.Latency + n.pathRTT(a, b)/2
	if n.cfg.Jitter == 0 {
		return d
	}
	n.rngMu.Lock()
	defer n.rngMu.Unlock()
	return d + time.Duration(n.rng.Int64N(int64(n.cfg.Jitter)))
}

// wakeAt is when a wait of d from now ends: on the next multiple of the
// network's tick (d from now without one).
func (n *Network) wakeAt(d time.Duration) time.Time {
	at := time.Now().Add(d)
	if tick := n.cfg.Tick; tick > 0 {
		at = at.Add(tick - 1).Truncate(tick)
	}
	return at
}

// pathRTT is the base round-trip time between a and b: the same in both
// directions and on every call, drawn from a hash of the pair so that a
// hundred thousand endpoints need no table of paths.
func (n *Network) pathRTT(a, b netip.AddrPort) time.Duration {
	span := n.cfg.RTTMax - n.cfg.RTTMin
	if span <= 0 {
		return n.cfg.RTTMin
	}
	x, y := a.Addr().As4(), b.Addr().As4()
	lo, hi := binary.BigEndian.Uint32(x[:]), binary.BigEndian.Uint32(y[:])
	if lo > hi {
		lo, hi = hi, lo
	}
	h := splitmix(n.cfg.Seed ^ uint64(lo)<<32 ^ uint64(hi))
	return n.cfg.RTTMin + time.Duration(h%uint64(span+1))
}

// splitmix is SplitMix64's finaliser: a cheap, well-mixed hash of x.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}
