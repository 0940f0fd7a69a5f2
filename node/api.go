package node

import (
	"net/netip"
	"time"

	"github.com/anacrolix/dht/v2/krpc"
)

// LookupResult is the outcome of one iterative lookup.
type LookupResult struct {
	Target  krpc.ID
	Found   bool           // a node with exactly Target answered
	Addr    netip.AddrPort // its address, when Found
	Closest []Responder
	Stats   LookupStats
}

// Responder is one of the closest nodes that answered a lookup.
type Responder struct {
	ID   krpc.ID
	Addr netip.AddrPort
	RTT  time.Duration
}

// LookupStats counts what a lookup cost.
type LookupStats struct {
	Queries   int
	Responses int
	Timeouts  int
	Rounds    int
	Duration  time.Duration
}

// ContactStatus is one routing-table entry (a kad.Contact) as operators
// see it, with its bucket, state and round-trip time.
type ContactStatus struct {
	ID       krpc.ID
	Addr     netip.AddrPort
	Bucket   int // index by XOR distance: 159 - leading zero bits of (self XOR ID)
	LastSeen time.Time
	State    string        // "bucket" or "replacement"
	Failures int           // consecutive failed queries; evicted at MaxFailures
	RTT      time.Duration // of its last reply to us; zero when none since start
}

// SelfInfo describes this node.
type SelfInfo struct {
	ID       krpc.ID
	Contact  string         // ID@host:port, using the learned external address when known
	Listen   netip.AddrPort // bound address
	External netip.AddrPort // learned from responders' ip field; zero until agreed
	Started  time.Time
	Joined   bool     // own bootstrap done
	NAT      NATStats // reachability and client mode; zero when NAT handling is off
}
