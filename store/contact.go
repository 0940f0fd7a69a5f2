package store

import (
	"net/netip"
	"time"

	"github.com/anacrolix/dht/v2/krpc"
)

// Place says where in the routing table a contact sits.
type Place uint8

const (
	// InBucket: a live member of its k-bucket.
	InBucket Place = 1
	// InReplacement: waiting in its bucket's replacement cache.
	InReplacement Place = 2
)

// Contact is the persisted form of one routing-table entry.
type Contact struct {
	ID           krpc.ID
	Addr         netip.AddrPort
	FirstSeen    time.Time
	LastSeen     time.Time
	LastResponse time.Time // zero if it never answered one of our queries
	Failures     int       // consecutive failed queries
	Place        Place
}

// Meta is the store's header record.
type Meta struct {
	SchemaVersion int
	KeyBits       int // 160
	SelfID        krpc.ID
	Network       string
}
