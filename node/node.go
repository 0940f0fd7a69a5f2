package node

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/anacrolix/dht/v2/krpc"

	"github.com/kadnode/kadnode/store"
	"github.com/kadnode/kadnode/wire"
)

// Clock is the node's source of time, injected so that eviction, refresh
// and revalidation timing can be tested without sleeping.
type Clock interface {
	Now() time.Time
}

// Store is what the node needs from persistence: store.Store satisfies it.
type Store interface {
	Load() ([]store.Contact, error)
	Put(c store.Contact) error
	Delete(id krpc.ID) error
	Touch(c store.Contact) error
}

// Config holds a node's parameters; zero values take the defaults in
// constants.go.
type Config struct {
	K                  int
	Alpha              int
	ReplacementSize    int
	MaxFailures        int
	Seeds              []wire.Contact
	ReadOnly           bool // BEP 43: query others, never be inserted by them
	RPCTimeout         time.Duration
	RefreshInterval    time.Duration
	RevalidateInterval time.Duration
	Clock              Clock
	Logger             *slog.Logger
	// OnLookup, when set, is called after every lookup (metrics).
	OnLookup func(LookupResult)
}

// Stats is a snapshot of the node's counters for metrics.
type Stats struct {
	// RPCsIn and RPCsOut count by method ("ping", "find_node", …) and then
	// outcome ("ok", "error", "timeout", "invalid").
	RPCsIn  map[string]map[string]uint64
	RPCsOut map[string]map[string]uint64
	// BucketSizes and ReplacementSizes by bucket index.
	BucketSizes      []int
	ReplacementSizes []int
	Evictions        uint64
}

// Node is one Kademlia node.
type Node struct{}

var errNotImplemented = errors.New("not implemented")

// New makes a node on transport tr, restoring its table from st.
func New(cfg Config, tr Transport, st Store) (*Node, error) { return nil, errNotImplemented }

// Start begins serving, joining and table maintenance.
func (n *Node) Start() {}

// WaitJoined blocks until the node's own bootstrap is done or ctx ends.
func (n *Node) WaitJoined(ctx context.Context) error { return errNotImplemented }

// Lookup runs an iterative lookup for target.
func (n *Node) Lookup(ctx context.Context, target krpc.ID) (LookupResult, error) {
	return LookupResult{}, errNotImplemented
}

// Ping pings c and returns who answered and the round-trip time.
func (n *Node) Ping(ctx context.Context, c wire.Contact) (wire.Peer, time.Duration, error) {
	return wire.Peer{}, 0, errNotImplemented
}

// Add pings c and inserts it into the table if it answers.
func (n *Node) Add(ctx context.Context, c wire.Contact) (wire.Peer, error) {
	return wire.Peer{}, errNotImplemented
}

// Nodes lists the routing table.
func (n *Node) Nodes() []ContactInfo { return nil }

// Self describes this node.
func (n *Node) Self() SelfInfo { return SelfInfo{} }

// Stats snapshots the node's counters.
func (n *Node) Stats() Stats { return Stats{} }

// Close stops the node's goroutines; it does not close the transport or
// the store, which the caller owns.
func (n *Node) Close() error { return nil }
