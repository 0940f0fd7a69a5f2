package kad

import (
	"errors"
	"net/netip"
	"time"

	"github.com/anacrolix/dht/v2/krpc"
)

// The vocabulary of persistence: what a node keeps across restarts, in
// the form a store writes and loads it.

// Place says where in the routing table a contact sits.
type Place uint8

const (
	// InBucket: a live member of its k-bucket.
	InBucket Place = 1
	// InReplacement: waiting in its bucket's replacement cache.
	InReplacement Place = 2
)

// Contact is one routing-table entry, as the table holds it and a store
// persists it. An operator's ID@host:port is an Endpoint, and an
// authenticated sender a Peer.
type Contact struct {
	ID           krpc.ID
	Addr         netip.AddrPort
	FirstSeen    time.Time
	LastSeen     time.Time
	LastResponse time.Time // zero if it never answered one of our queries
	Failures     int       // consecutive failed queries
	Place        Place
}

// ItemRecord is the persisted form of one BEP 44 item a node holds (Own false)
// or put itself and republishes (Own true). The node checks items before
// they get here; the store only makes sure a record decodes again.
type ItemRecord struct {
	Target  krpc.ID
	Own     bool
	V       []byte   // bencoded value
	K       [32]byte // zero for an immutable item
	Salt    []byte
	Seq     int64
	Sig     [64]byte
	Cas     int64      // own items: the cas to put with (0: none)
	Source  netip.Addr // who stored it (held items), for the per-source limit
	Stored  time.Time  // last put or republish
	Expires time.Time
}

// ErrStoreFailed is matched (errors.Is) by a store's errors once a write
// failed (disk full or read-only, I/O error): the store refuses further
// writes until it is reopened, and the node carries on from memory.
var ErrStoreFailed = errors.New("store write failed")
