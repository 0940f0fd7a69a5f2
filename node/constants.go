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
	// DefaultMaxFailures is how many consecutive failed queries make a
	// member a candidate for eviction.
	DefaultMaxFailures = 3
	// EvictionProbes is how many pings, one after the other, a member gets
	// before it is evicted (after MaxFailures failed queries, or as a full
	// bucket's stale oldest member); all must go unanswered. A few lost
	// datagrams in a row must not evict a live peer.
	EvictionProbes = 3
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
	// GoodContactWindow is how recently a member must have been seen (an
	// authenticated query or response; either proves its address) to count
	// as alive without a ping: BEP 5's 15 minutes for a good node. A full
	// bucket of such members keeps a newcomer in the replacement cache.
	GoodContactWindow = 15 * time.Minute
	// StoreErrorLogInterval rate-limits the log line for a failing store
	// operation: one line per operation kind per interval.
	StoreErrorLogInterval = time.Minute
)

// Lookups, join and maintenance.
const (
	// DefaultAlpha is how many queries of a lookup are in flight at once
	// (the paper's α).
	DefaultAlpha = 3
	// DefaultPrepareAhead is how many of a lookup's next candidates get a
	// handshake started while its queries are out (prepare.go): as many
	// as are in flight, so each answer finds its successor's session
	// ready or under way.
	DefaultPrepareAhead = DefaultAlpha
	// DefaultRPCTimeout is how long a query may take before it counts as a
	// failure against the peer.
	DefaultRPCTimeout = time.Second
	// CallDeadlineFactor times the RPC timeout is a call's deadline. The
	// transport gives up on a silent session after its own RPC timeout and
	// redials once (a peer that restarted); the headroom lets that redial
	// finish within the same call instead of failing exactly when it starts.
	CallDeadlineFactor = 2
	// OfflineFailureRun is how many failed calls in a row, across all
	// peers and with no answer in between, make the node take itself for
	// offline: it then stops counting failures against contacts until a
	// peer answers, so a lost link does not empty the table.
	OfflineFailureRun = 8
	// OfflineProbes is how many recently answering contacts are pinged
	// before a suspect link is taken as down; all must stay silent.
	OfflineProbes = 3
	// OfflineSilentMax bounds the peers a node remembers as silent since
	// its last link probe, to ask them last in the next one.
	OfflineSilentMax = 256
	// OfflineProbeAttempts is how many pings, one after the other, each of
	// those contacts gets. On a starved CPU a live peer's reply can miss
	// one call's deadline, and nodes then took themselves for offline
	// again and again; a dead link costs only the extra seconds, during
	// which failures wait for the probe and none counts.
	OfflineProbeAttempts = 3
	// OfflineReprobeInterval is how long a node that takes itself for
	// offline blames failures on its link before a failure probes the link
	// again; an answer from any peer ends the offline state sooner.
	OfflineReprobeInterval = 10 * time.Second
	// EmptyTableCheckInterval is how often a joined node checks whether
	// its table went empty, which starts a new join. It is a backstop: the
	// table starts that check the moment its last member leaves, so a
	// check per second per node (the largest share of a simulated
	// network's wake-ups) is not needed.
	EmptyTableCheckInterval = time.Minute
	// MinQueryTimeout is the floor of a lookup's adaptive per-query timeout
	// (srtt + 4·rttvar); past it a query stops holding one of the α slots
	// but may still answer until the RPC timeout.
	MinQueryTimeout = 50 * time.Millisecond
	// MaxNodesPerReply bounds the contacts taken from one find_node reply
	// (k in "nodes" and k in "nodes6"), so one peer cannot flood a lookup.
	MaxNodesPerReply = 2 * DefaultK
	// DefaultRefreshInterval is how long a bucket may go without a lookup
	// before it is refreshed (the paper's hour).
	DefaultRefreshInterval = time.Hour
	// RefreshJitter spreads each bucket's refresh over ±25% of the interval.
	RefreshJitter = 0.25
	// RefreshCheckInterval is how often the node looks for due buckets.
	RefreshCheckInterval = time.Minute
	// DefaultRevalidateInterval is the pause between two pings of the
	// least-recently-seen contact.
	DefaultRevalidateInterval = 5 * time.Second
	// RevalidateJitter spreads the revalidation pings over ±50%.
	RevalidateJitter = 0.5
	// JoinBackoffMin and JoinBackoffMax bound the wait between two join
	// attempts when nobody answered; it doubles each time.
	JoinBackoffMin = time.Second
	JoinBackoffMax = time.Minute
	// JoinBackoffJitter spreads the join retries over ±20%.
	JoinBackoffJitter = 0.2
	// MaxBootstrapContacts bounds how many stored contacts a join pings
	// when its table is empty.
	MaxBootstrapContacts = 3 * DefaultK
	// ExternalAgreement is how many distinct responders must report the
	// same address in "ip" before we take it as our external address.
	ExternalAgreement = 3
	// ExternalVoteWindow is how many recent responders' reports count.
	ExternalVoteWindow = 32
	// maxPeerRTTs bounds the per-peer round-trip times kept for operators;
	// past it those of peers outside the table are forgotten (a table
	// holds a few hundred contacts).
	maxPeerRTTs = 2048
	// minListCap is the room a bucket's member or replacement array
	// starts with; it then doubles up to the list's limit.
	minListCap = 4
)

// NAT traversal (nat*.go).
const (
	// DefaultNATKeepalive is how often a NAT'd node re-registers with its
	// rendezvous contacts: below Linux conntrack's 30 s for an unreplied
	// UDP mapping (Tailscale refreshes at 25–27 s) and the transport's
	// 30 s idle timeout, so neither the NAT nor the reaper drops them.
	DefaultNATKeepalive = 25 * time.Second
	// NATTick is how often the NAT loop classifies and does what is due.
	NATTick = time.Second
	// NATRendezvousCount is how many contacts closest to our own ID a
	// NAT'd node registers with: lookups of its ID converge on them.
	NATRendezvousCount = 8
	// NATSelfLookupInterval is the first pause between a NAT'd node's
	// lookups of its own ID, which bring nodes that joined near it into
	// its table so that its rendezvous stay among the k closest to it:
	// one lookup (about 25 queries) a minute while they keep changing.
	NATSelfLookupInterval = time.Minute
	// NATSelfLookupMaxInterval caps the pause, which doubles while a
	// lookup finds the same rendezvous: in a settled network about 2
	// queries a minute, and newcomers must outnumber the k closest before
	// a lookup misses every rendezvous, which takes far longer than this.
	NATSelfLookupMaxInterval = 16 * time.Minute
	// NATClientTTL is how long a registration holds without a keepalive.
	NATClientTTL = 2 * time.Minute
	// NATMaxClients bounds the rendezvous clients one node keeps.
	NATMaxClients = 256
	// NATMaxPeers bounds the contacts remembered as NAT'd, the addresses
	// remembered as sent to, and the per-peer rate limiters.
	NATMaxPeers = 4096
	// NATMarkGrace is how long a NAT'd mark of a contact not in the table
	// is kept even when the marks overflow: a lookup marks a punched
	// contact just before the table takes it.
	NATMarkGrace = time.Minute
	// NATSentMemory is how long an address we sent to counts as able to
	// pass our NAT's filter: past the 120 s Linux keeps a replied mapping.
	NATSentMemory = 5 * time.Minute
	// NATCheckPeers is how many contacts one reachability check asks.
	NATCheckPeers = 2
	// NATCheckWait is how long a check waits for its dial-back nonce.
	NATCheckWait = 6 * time.Second
	// NATCheckInterval is the pause between checks while not verified
	// public; a change of the external address starts one at once.
	NATCheckInterval = time.Minute
	// NATDialTimeout bounds a punch: a few DTLS flights (pion resends a
	// flight every second), all towards the requester itself, so that a
	// first ClientHello that met the far NAT before its mapping existed
	// is sent again.
	NATDialTimeout = 3 * time.Second
	// NATDialBackTimeout bounds a dial-back. It goes to an address a peer
	// named, so it stays under pion's 1 s flight interval: one
	// ClientHello per rate-limited request, about the request's size,
	// which keeps amplification near 1x.
	NATDialBackTimeout = 900 * time.Millisecond
	// NATRelayRate and NATRelayBurst limit, per requesting peer, the
	// relays, dial-backs and punches a node does for it. Every one goes to
	// the requester's own observed address, so the limit guards the
	// node's work, not a victim. One lookup can need a relay for each of
	// several NAT'd nodes near its target through the same rendezvous; at
	// 1/s with a burst of 3, a node looking up cone nodes back to back
	// was refused and missed 2 of 143.
	NATRelayRate  = 5.0
	NATRelayBurst = 20
	// NATRendezvousTries is how many of the nodes that gave out one NAT'd
	// contact a lookup asks in turn to relay its punch, when the first
	// refuses (its limit for us, or its session gone) or does not answer.
	NATRendezvousTries = 3
	// NATPunchFailures is how many failed punches, with none succeeding,
	// put a NAT'd node into client mode.
	NATPunchFailures = 3
)

// Values (BEP 44).
const (
	// DefaultItemExpiry is how long a node holds an item that nobody puts
	// again (BEP 44: about 2 hours).
	DefaultItemExpiry = 2 * time.Hour
	// DefaultRepublishInterval is how often the node puts again what it
	// put, and hands on what it holds and was not put to it meanwhile (the
	// paper's hourly republish); well within DefaultItemExpiry.
	DefaultRepublishInterval = time.Hour
	// DefaultMaxItems and DefaultMaxItemBytes bound what a node holds for
	// others (values only; a record adds about 200 bytes).
	DefaultMaxItems     = 4096
	DefaultMaxItemBytes = 4 << 20
	// DefaultMaxItemsPerSource bounds the items held from one IP address,
	// so that one host cannot fill a node.
	DefaultMaxItemsPerSource = 256
	// ValuesCheckInterval is how often the node drops expired items and
	// looks for items due for republishing.
	ValuesCheckInterval = time.Minute
	// MaxRepublishPerCheck bounds the items republished in one check, so
	// that a node holding many items spreads the work out.
	MaxRepublishPerCheck = 64
	// TokenRotation is how often the write-token secret changes; a token
	// stays valid for one to two rotations (BEP 5's practice).
	TokenRotation = 5 * time.Minute
	// TokenLen is the length of the write tokens this node issues.
	TokenLen = 8
)
