package sim

import "time"

const (
	// DefaultTimeout is how long a Call waits for an answer that will never
	// come (lost datagram, dead or unknown peer). It stands in for the real
	// RPC timeout and is short so that large experiments finish quickly.
	DefaultTimeout = 50 * time.Millisecond

	// DefaultTick is the grid that kadsim and the cluster tests deliver
	// on (Config.Tick). With every path's delay drawn to the nanosecond,
	// virtual time ran one event at a time, and 2,000 nodes took twice
	// the wall time to build; 1 ms is below any latency worth reporting.
	DefaultTick = time.Millisecond

	// Port is the UDP port every simulated node "listens" on.
	Port = 4114

	// maxEndpoints bounds the address space: addresses are 127.x.y.z with
	// x.y.z counting up from 0.0.1, so no two nodes share one and every
	// address is loopback (exempt from the table's IP-diversity limits).
	maxEndpoints = 1<<24 - 2
)

// Cluster building.
const (
	// quietPeriod is how long the network must carry no query before a
	// cluster counts as settled.
	quietPeriod = 300 * time.Millisecond
	// maxSettle bounds the wait for a settled network.
	maxSettle = 10 * time.Minute
	// neighbourSample is how many nodes the neighbourhood check looks at.
	neighbourSample = 200
	// bucketState is node.ContactStatus.State of a bucket member (the other
	// state is a replacement-cache entry).
	bucketState = "bucket"
)

// Experiments.
const (
	// defaultLookupTimeout bounds one measured lookup.
	defaultLookupTimeout = time.Minute
)

// Size of the results plot, in pixels.
const (
	plotWidth  = 1440
	plotHeight = 380
	yTicks     = 5 // intervals on each y axis
)

// Published Mainline DHT lookup latencies, drawn for comparison: median
// lookups of 100–200 ms after Jimenez, Osmani and Knutsson's changes
// ("Sub-second lookups on a large-scale Kademlia-based overlay", P2P 2011);
// before them, median lookups took seconds.
const (
	mainlineMedianLow  = 100 // ms
	mainlineMedianHigh = 200 // ms
)

// NAT models (natbox.go).
const (
	// conntrackUnreplied and conntrackReplied are how long a mapping
	// lives after its last datagram: Linux's nf_conntrack_udp_timeout and
	// nf_conntrack_udp_timeout_stream defaults.
	conntrackUnreplied = 30 * time.Second
	conntrackReplied   = 120 * time.Second
	// sessionIdle is how long the real transport keeps an unused session
	// (wire.DefaultIdleTimeout): HasSession is true while the mapping of
	// a NAT'd peer carried a datagram this recently.
	sessionIdle = 30 * time.Second
	// filterRetry is how often a datagram that met a closed filter is
	// sent again until its call gives up: DTLS resends its handshake
	// flights, and two handshakes that cross in a punch merge into one
	// session (the transport's simultaneous-open tie-break).
	filterRetry = 100 * time.Millisecond
	// symmetricFirstPort is the first external port a symmetric NAT
	// hands out; each new destination takes the next.
	symmetricFirstPort = 1024
	// natSweepAt is the size of a NAT's mapping table above which a new
	// mapping first drops the expired ones.
	natSweepAt = 1024
)
