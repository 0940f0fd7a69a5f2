package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/kadnode/kadnode/internal/tasks"
	"github.com/kadnode/kadnode/kad"
)

// Clock is the node's source of time, injected so that eviction, refresh
// and revalidation timing can be tested without sleeping.
type Clock interface {
	Now() time.Time
}

// Store is what the node needs from persistence: store.Store satisfies it.
type Store interface {
	Load() ([]kad.Contact, error)
	Put(c kad.Contact) error
	Delete(id krpc.ID) error
	Touch(c kad.Contact) error
}

// Config holds a node's parameters; zero values take the defaults in
// constants.go.
type Config struct {
	K     int
	Alpha int
	// PrepareAhead is how many of a lookup's next candidates get a
	// handshake started before their turn (prepare.go), where the
	// transport finds that it pays: 0 takes DefaultPrepareAhead, negative
	// turns it off.
	PrepareAhead       int
	ReplacementSize    int
	MaxFailures        int
	Seeds              []kad.Endpoint
	ReadOnly           bool // BEP 43: query others, never be inserted by them
	RPCTimeout         time.Duration
	RefreshInterval    time.Duration
	RevalidateInterval time.Duration
	Clock              Clock
	Logger             *slog.Logger
	// OnLookup, when set, is called after every Lookup call (metrics);
	// the node's own join and refresh lookups are not reported.
	OnLookup func(LookupResult)

	// BucketSubnetLimit and TableSubnetLimit cap the table's entries per
	// /24 (IPv6 /64): 0 takes the defaults, negative means no limit.
	// LimitPrivate applies them to loopback, private and link-local
	// addresses too, which are exempt otherwise (a testnet on one host).
	BucketSubnetLimit, TableSubnetLimit int
	LimitPrivate                        bool

	// NAT turns on reachability checks, rendezvous, hole punching and
	// client mode (reach.go).
	NAT NATConfig
	// Values holds the BEP 44 item parameters (expiry, republish, limits).
	Values ValuesConfig
}

func (c Config) withDefaults() Config {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defDuration := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.K, DefaultK)
	def(&c.Alpha, DefaultAlpha)
	if c.PrepareAhead == 0 {
		c.PrepareAhead = DefaultPrepareAhead
	}
	def(&c.ReplacementSize, DefaultReplacementSize)
	def(&c.MaxFailures, DefaultMaxFailures)
	defDuration(&c.RPCTimeout, DefaultRPCTimeout)
	defDuration(&c.RefreshInterval, DefaultRefreshInterval)
	defDuration(&c.RevalidateInterval, DefaultRevalidateInterval)
	if c.Clock == nil {
		c.Clock = SystemClock{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Stats is a snapshot of the node's counters for metrics.
type Stats struct {
	// RPCsIn and RPCsOut count by method ("ping", "find_node", …) and then
	// outcome ("ok", "error", "timeout", "invalid", "ignored").
	RPCsIn  map[string]map[string]uint64
	RPCsOut map[string]map[string]uint64
	// BucketSizes and ReplacementSizes by bucket index.
	BucketSizes      []int
	ReplacementSizes []int
	Evictions        uint64
	// OfflineSpells counts the times the node took itself for offline and
	// stopped counting failures against its contacts.
	OfflineSpells uint64
	// JoinDuration is how long the node took from Start to the end of its
	// own bootstrap; Joined is false until then.
	JoinDuration time.Duration
	Joined       bool
	NAT          NATStats
}

// ErrNoContacts is returned by Lookup when the table is empty, so there is
// nobody to ask: the node has not joined, or every contact was evicted.
var ErrNoContacts = errors.New("routing table is empty: no contact to ask; give a seed or wait for the node to join")

// ErrClosed is returned by calls on a closed node.
var ErrClosed = errors.New("node is closed")

// Node is one Kademlia node.
type Node struct {
	cfg    Config
	tr     Transport
	st     Store
	table  *Table
	self   krpc.ID
	listen netip.AddrPort
	log    *slog.Logger

	rtt      rttEstimator
	peerRTT  peerRTTs
	external externalAddr
	offline  offlineDetector
	rpcsIn   rpcCounters
	rpcsOut  rpcCounters
	refresh  refreshTimes
	verdicts verdicts
	nat      *natState // nil unless cfg.NAT.Enabled
	vals     values

	// joined is closed when our own bootstrap is done; until then inbound
	// callers are answered but not inserted.
	joined     chan struct{}
	joinedOnce sync.Once
	joinedAt   time.Time // set once, before joined is closed
	// joinDone is closed when the first join has run to its end: the
	// bucket refreshes after the lookup of our own ID, and the
	// revalidation of restored contacts.
	joinDone     chan struct{}
	joinDoneOnce sync.Once
	// loaded are the contacts restored from the store at start: the
	// rejoin goes through them, and they are revalidated after it.
	loaded []kad.Contact

	joinSt joinState // the join task's (join.go)

	ctx       context.Context // ends on Close
	cancel    context.CancelFunc
	tasks     tasks.Set      // the maintenance timers and their runs
	wg        sync.WaitGroup // eviction verdicts
	startOnce sync.Once
	started   time.Time
}

// New makes a node on transport tr, restoring its table from st. A nil st
// keeps the table in memory only.
func New(cfg Config, tr Transport, st Store) (*Node, error) {
	if tr == nil {
		return nil, errors.New("node.New: nil transport")
	}
	cfg = cfg.withDefaults()
	n := &Node{
		cfg:      cfg,
		tr:       tr,
		st:       st,
		self:     tr.LocalID(),
		listen:   tr.LocalAddr(),
		log:      cfg.Logger,
		joined:   make(chan struct{}),
		joinDone: make(chan struct{}),
	}
	n.offline.log = cfg.Logger
	if cfg.NAT.Enabled {
		n.nat = newNATState(cfg.NAT, n.inTable)
	}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	n.refresh.init(cfg.Clock.Now(), cfg.RefreshInterval)
	n.table = NewTable(n.self, TableConfig{
		K:               cfg.K,
		ReplacementSize: cfg.ReplacementSize,
		MaxFailures:     cfg.MaxFailures,

		BucketSubnetLimit: cfg.BucketSubnetLimit,
		TableSubnetLimit:  cfg.TableSubnetLimit,
		LimitPrivate:      cfg.LimitPrivate,
	}, st, cfg.Clock, n.livenessPing, cfg.Logger)
	if st != nil {
		cs, err := st.Load()
		if err != nil {
			n.cancel()
			n.table.Close()
			return nil, fmt.Errorf("loading the routing table from the store: %w", err)
		}
		n.table.Load(cs)
		n.loaded = n.table.Contacts()
	}
	if err := n.initValues(cfg.Clock.Now()); err != nil {
		n.cancel()
		n.table.Close()
		return nil, fmt.Errorf("loading items from the store: %w", err)
	}
	if len(cfg.Seeds) == 0 && len(n.loaded) == 0 {
		// Nobody to join through: this is the first node of a network.
		n.markJoined()
		n.markJoinDone()
	}
	return n, nil
}

// Start begins serving, joining and table maintenance. The maintenance
// (join and rejoin, refresh, revalidation, values, NAT) runs as timed
// tasks (internal/tasks), not as a goroutine parked per loop, so a node
// at rest holds none for it. Each task keeps its own pace beside the
// others: a long refresh does not delay a revalidation ping or a NAT
// keepalive. What a run decides still reads Config.Clock.
func (n *Node) Start() {
	n.startOnce.Do(func() {
		n.started = time.Now()
		n.tr.Serve(n.handle)
		n.startJoin()
		n.tasks.Every(n.refreshCheckInterval(), n.refreshStep)
		n.tasks.Every(n.revalidateWait(), n.revalidateStep)
		n.tasks.Every(n.valuesCheckInterval(), n.valuesStep)
		if n.nat != nil {
			n.tasks.Every(NATTick, func() time.Duration {
				n.natStep()
				return NATTick
			})
		}
	})
}

// WaitJoined blocks until the node's own bootstrap is done or ctx ends.
func (n *Node) WaitJoined(ctx context.Context) error {
	return n.waitFor(ctx, n.joined, "waiting for the node to join")
}

// WaitJoinDone blocks until the node's first join has run to its end, or
// ctx ends. WaitJoined returns earlier, once the lookup of our own ID is
// done and the node inserts its callers; the join then goes on to refresh
// every bucket farther than the closest neighbour (and, after a restart,
// to revalidate the restored contacts), and only after that are the
// join's sessions closed (sessionScope). A join that failed and is being
// retried is not done.
func (n *Node) WaitJoinDone(ctx context.Context) error {
	return n.waitFor(ctx, n.joinDone, "waiting for the node's join to finish")
}

// waitFor blocks until ch is closed, the node closes (ErrClosed) or ctx
// ends.
func (n *Node) waitFor(ctx context.Context, ch <-chan struct{}, what string) error {
	select {
	case <-ch:
		return nil
	case <-n.ctx.Done():
		return ErrClosed
	case <-ctx.Done():
		return fmt.Errorf("%s: %w", what, ctx.Err())
	}
}

// isJoined reports whether our own bootstrap is done.
func (n *Node) isJoined() bool {
	select {
	case <-n.joined:
		return true
	default:
		return false
	}
}

func (n *Node) markJoined() {
	n.joinedOnce.Do(func() {
		n.joinedAt = time.Now()
		close(n.joined)
	})
}

func (n *Node) markJoinDone() {
	n.joinDoneOnce.Do(func() { close(n.joinDone) })
}

// joinDuration is how long the join took from Start, once joined.
func (n *Node) joinDuration() (time.Duration, bool) {
	if !n.isJoined() {
		return 0, false
	}
	return max(n.joinedAt.Sub(n.started), 0), true
}

// Ping pings c and returns who answered and the round-trip time. A
// contact already in the table is refreshed when it answers and counted
// as failed when it does not; others are not inserted (see Add).
func (n *Node) Ping(ctx context.Context, c kad.Endpoint) (kad.Peer, time.Duration, error) {
	ctx, cancel := n.withClose(ctx)
	defer cancel()
	addr, err := c.Resolve(ctx)
	if err != nil {
		return kad.Peer{}, 0, err
	}
	peer, rtt, err := n.pingAddr(ctx, addr, expectedID(c))
	if err != nil {
		if known, ok := n.table.Get(c.ID); ok && c.HasID && known.Addr == addr {
			n.failed(ctx, c.ID, err)
		}
		return peer, rtt, err
	}
	if _, known := n.table.Get(peer.ID); known {
		n.table.Responded(peer)
	}
	return peer, rtt, nil
}

// Add pings c and inserts it into the table if it answers.
func (n *Node) Add(ctx context.Context, c kad.Endpoint) (kad.Peer, error) {
	ctx, cancel := n.withClose(ctx)
	defer cancel()
	peer, _, err := n.ping(ctx, c)
	if err != nil {
		return peer, err
	}
	n.table.Responded(peer)
	if _, ok := n.table.Get(peer.ID); !ok {
		return peer, fmt.Errorf("%s answered but the table did not take it (an unusable address or over a subnet limit)", kad.EndpointString(peer.ID, peer.Addr))
	}
	return peer, nil
}

// ping resolves and pings c.
func (n *Node) ping(ctx context.Context, c kad.Endpoint) (kad.Peer, time.Duration, error) {
	addr, err := c.Resolve(ctx)
	if err != nil {
		return kad.Peer{}, 0, err
	}
	return n.pingAddr(ctx, addr, expectedID(c))
}

// expectedID is the ID c must authenticate as, or nil when any will do.
func expectedID(c kad.Endpoint) *krpc.ID {
	if !c.HasID {
		return nil
	}
	id := c.ID
	return &id
}

// pingAddr pings addr, expecting the ID *expect when it is non-nil. It
// counts the outcome and learns from a reply, but leaves the table to the
// caller: an operator's ping must not insert, a revalidation must.
func (n *Node) pingAddr(ctx context.Context, addr netip.AddrPort, expect *krpc.ID) (kad.Peer, time.Duration, error) {
	if addr == n.listen {
		return kad.Peer{}, 0, fmt.Errorf("%s is this node's own address", addr)
	}
	peer, reply, rtt, err := n.call(ctx, addr, expect, kad.PingQuery(n.self, n.roFlag()))
	if err == nil {
		err = n.checkReply(peer, expect, reply)
	}
	if err != nil {
		n.rpcsOut.add(kad.MethodPing, outcomeOf(err))
		return peer, rtt, fmt.Errorf("ping %s: %w", addr, err)
	}
	n.rpcsOut.add(kad.MethodPing, outcomeOK)
	n.learn(peer, reply, rtt)
	return peer, rtt, nil
}

// livenessPing is the table's check of a full bucket's oldest member: it
// is evicted only if it leaves EvictionProbes pings unanswered. While the
// node seems offline its error says so, and the member is kept.
func (n *Node) livenessPing(ctx context.Context, c kad.Contact) error {
	ctx, cancel := n.withClose(ctx)
	defer cancel()
	_, err := n.confirmAlive(ctx, c)
	return err
}

// call sends q and measures the round trip. Its deadline leaves the
// transport room for one redial after its own RPC timeout (see
// CallDeadlineFactor).
func (n *Node) call(ctx context.Context, addr netip.AddrPort, expect *krpc.ID, q *krpc.Msg) (kad.Peer, *krpc.Msg, time.Duration, error) {
	callCtx, cancel := context.WithTimeout(ctx, CallDeadlineFactor*n.cfg.RPCTimeout)
	defer cancel()
	start := time.Now()
	if n.nat != nil {
		n.nat.sentTo(addr, n.cfg.Clock.Now())
	}
	peer, reply, err := n.tr.Call(callCtx, addr, expect, q)
	n.offline.outcome(ctx, expect, err)
	return peer, reply, time.Since(start), err
}

// checkReply verifies that a reply is a response from the node we meant:
// wire checks this too, but the node must not depend on every transport
// doing so.
func (n *Node) checkReply(peer kad.Peer, expect *krpc.ID, reply *krpc.Msg) error {
	switch {
	case reply == nil || reply.R == nil:
		return errors.New("reply has no return values")
	case reply.R.ID != peer.ID:
		return fmt.Errorf("reply id %x differs from the certificate's %x", reply.R.ID, peer.ID)
	case expect != nil && peer.ID != *expect:
		return fmt.Errorf("answered by %x, expected %x", peer.ID, *expect)
	case peer.ID == n.self:
		return errors.New("answered by this node's own ID")
	}
	return nil
}

// learn feeds a valid reply into the RTT estimate and the external
// address.
func (n *Node) learn(peer kad.Peer, reply *krpc.Msg, rtt time.Duration) {
	n.rtt.observe(rtt)
	n.peerRTT.observe(peer.ID, rtt, n.inTable)
	if old, cur, changed := n.external.vote(peer.ID, reply.IP); changed {
		n.log.Info("external address changed", "old", old, "new", cur)
		if n.nat != nil {
			n.nat.externalChanged(old)
		}
	}
}

// outcomeOf classifies a failed call for the counters.
func outcomeOf(err error) string {
	if isTimeout(err) {
		return outcomeTimeout
	}
	return outcomeError
}

// withClose derives a context that also ends when the node closes.
func (n *Node) withClose(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(n.ctx, cancel)
	return ctx, func() {
		stop()
		cancel()
	}
}

// Nodes lists the routing table.
func (n *Node) Nodes() []ContactStatus {
	cs := n.table.Contacts()
	out := make([]ContactStatus, 0, len(cs))
	for _, c := range cs {
		state := "bucket"
		if c.Place == kad.InReplacement {
			state = "replacement"
		}
		out = append(out, ContactStatus{
			ID: c.ID, Addr: c.Addr, Bucket: BucketIndex(n.self, c.ID),
			LastSeen: c.LastSeen, State: state, Failures: c.Failures, RTT: n.peerRTT.get(c.ID),
		})
	}
	return out
}

// Self describes this node.
func (n *Node) Self() SelfInfo {
	ext := n.external.get()
	contact := n.listen
	if ext.IsValid() {
		contact = ext
	}
	return SelfInfo{
		ID:       n.self,
		Contact:  kad.EndpointString(n.self, contact),
		Listen:   n.listen,
		External: ext,
		Started:  n.started,
		Joined:   n.isJoined(),
		NAT:      n.natStats(),
	}
}

// Stats snapshots the node's counters.
func (n *Node) Stats() Stats {
	members, replacements := n.table.BucketSizes()
	joinDuration, joined := n.joinDuration()
	return Stats{
		JoinDuration:     joinDuration,
		Joined:           joined,
		RPCsIn:           n.rpcsIn.snapshot(),
		RPCsOut:          n.rpcsOut.snapshot(),
		BucketSizes:      members,
		ReplacementSizes: replacements,
		Evictions:        n.table.Evictions(),
		OfflineSpells:    n.offline.offlineSpells(),
		NAT:              n.natStats(),
	}
}

// Close stops the node's goroutines; it does not close the transport or
// the store, which the caller owns. Inbound queries that arrive after
// Close are not answered.
func (n *Node) Close() error {
	n.cancel()
	n.verdicts.close()
	n.tasks.Close()
	n.wg.Wait()
	if n.nat != nil {
		n.nat.close()
	}
	n.table.Close()
	return nil
}
