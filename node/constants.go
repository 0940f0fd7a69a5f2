package node

import "time"

// Routing table.
const (
	// NumBuckets is one k-bucket per bit of the 160-bit ID space.
	NumBuckets = 160
	// DefaultK is the bucket size and the number of contacts a lookup returns
	// (the paper's k).
	DefaultK = 20
	// DefaultReplacementSize bounds each bucket's cache of newcomers that
	// wait for a member to die.
	DefaultReplacementSize = 10
	// DefaultMaxFailures is how many consecutive failed queries evict a
	// member.
	DefaultMaxFailures = 3
	// DefaultBucketSubnetLimit is how many entries of one /24 (IPv6 /64) a
	// bucket may hold; go-ethereum's figure against eclipse attacks.
	DefaultBucketSubnetLimit = 2
	// DefaultTableSubnetLimit is how many entries of one /24 (IPv6 /64) the
	// whole table may hold.
	DefaultTableSubnetLimit = 10
	// SubnetBitsIPv4 is the prefix length the IPv4 diversity limits count by.
	SubnetBitsIPv4 = 24
	// SubnetBitsIPv6 is the prefix length the IPv6 diversity limits count by.
	SubnetBitsIPv6 = 64
	// StoreErrorLogInterval rate-limits the log line for a failing store
	// operation: one line per operation kind per interval.
	StoreErrorLogInterval = time.Minute
)
