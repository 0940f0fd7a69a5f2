package node

import (
	"context"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/kadnode/kadnode/kad"
)

// TableConfig holds the routing table's parameters.
type TableConfig struct {
	K               int // bucket size; 0 = DefaultK
	ReplacementSize int // replacement cache per bucket; 0 = DefaultReplacementSize
	MaxFailures     int // consecutive failures that evict; 0 = DefaultMaxFailures
	// Diversity limits per /24 (IPv6 /64): 0 = the defaults, negative = none.
	BucketSubnetLimit, TableSubnetLimit int
	// LimitPrivate applies the diversity limits to loopback, private and
	// link-local addresses too; without it a loopback testnet is not limited.
	LimitPrivate bool
}

func (c TableConfig) withDefaults() TableConfig {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.K, DefaultK)
	def(&c.ReplacementSize, DefaultReplacementSize)
	def(&c.MaxFailures, DefaultMaxFailures)
	def(&c.BucketSubnetLimit, DefaultBucketSubnetLimit)
	def(&c.TableSubnetLimit, DefaultTableSubnetLimit)
	c.K = max(c.K, 1)
	c.ReplacementSize = max(c.ReplacementSize, 0)
	c.MaxFailures = max(c.MaxFailures, 1)
	return c
}

// LivenessPing is called asynchronously to check the least-recently-seen
// member of a full bucket; it returns nil if the contact answered. It must
// return once ctx is done.
type LivenessPing func(ctx context.Context, c kad.Contact) error

// SeenResult says what Seen did with a contact.
type SeenResult int

const (
	// Inserted: a new member of its bucket.
	Inserted SeenResult = iota + 1
	// Refreshed: a known member, now the most recently seen.
	Refreshed
	// Replacement: its bucket is full; it waits in the replacement cache.
	Replacement
	// Rejected: self, an unusable address, or over a subnet limit.
	Rejected
)

func (r SeenResult) String() string {
	switch r {
	case Inserted:
		return "inserted"
	case Refreshed:
		return "refreshed"
	case Replacement:
		return "replacement"
	case Rejected:
		return "rejected"
	}
	return "unknown"
}

// Table is the Kademlia routing table: 160 buckets of up to K members by
// XOR distance from self, each with a replacement cache. Every change is
// written through to the Store in the background (see Flush); a store
// failure is logged and the table goes on serving from memory. It is safe
// for concurrent use.
type Table struct {
	self  krpc.ID
	cfg   TableConfig
	store Store // nil: memory only, nothing to write through
	clock Clock
	ping  LivenessPing
	log   *slog.Logger

	ctx       context.Context // ends on Close; liveness pings run under it
	cancel    context.CancelFunc
	pings     sync.WaitGroup
	afterPing func() // test hook: runs after a ping's outcome is applied

	flusher   sync.WaitGroup // the flusher goroutine while it runs
	flushMu   sync.Mutex     // one flush at a time; guards storeErrs
	storeErrs [numStoreOps]storeErrorLog

	mu       sync.Mutex
	closed   bool
	flushing bool // the flusher runs
	// buckets are made when first used: a node of a network of N fills
	// about log2(N) of the 160, and 160 empty buckets cost 9 KiB.
	buckets   [NumBuckets]*bucket
	members   int
	evictions uint64
	departed  departedMembers      // the last members to leave, for a rejoin
	onEmpty   func()               // called, with mu held, when the last member leaves
	subnets   map[netip.Prefix]int // entries per limited subnet, table-wide
	dirty     map[krpc.ID]struct{} // to Put or Delete, by whether present
	touched   map[krpc.ID]struct{} // to Touch: only timestamps moved
}

// NewTable makes an empty table for self. A nil st keeps the table in
// memory only, a nil clock is the system clock, and a nil ping disables
// liveness checks (newcomers for a full bucket then wait until a member
// fails or is removed). The table owns goroutines until Close.
func NewTable(self krpc.ID, cfg TableConfig, st Store, clock Clock, ping LivenessPing, log *slog.Logger) *Table {
	if clock == nil {
		clock = SystemClock{}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t := &Table{
		self: self, cfg: cfg.withDefaults(), store: st, clock: clock, ping: ping, log: log,
		ctx: ctx, cancel: cancel,
		subnets: make(map[netip.Prefix]int),
		dirty:   make(map[krpc.ID]struct{}),
		touched: make(map[krpc.ID]struct{}),
	}
	return t
}

// now strips the monotonic reading so that every comparison is on wall
// time, as it is for times loaded from the store.
func (t *Table) now() time.Time { return t.clock.Now().Round(0) }

// usableAddr reports whether addr can be called back at all.
func usableAddr(addr netip.AddrPort) bool {
	a := addr.Addr().Unmap()
	return addr.IsValid() && addr.Port() != 0 && !a.IsUnspecified() && !a.IsMulticast()
}

// Seen records an authenticated contact, typically the sender of an
// inbound query. A known contact is refreshed (and its address updated,
// since it was authenticated there); a new one is inserted if its bucket
// has room, else it waits in the replacement cache while the bucket's
// least-recently-seen member gets a liveness ping, at most one per bucket
// at a time.
func (t *Table) Seen(p kad.Peer) SeenResult { return t.seen(p, false) }

// Responded records that p answered one of our queries: Seen, and its
// failure count is reset.
func (t *Table) Responded(p kad.Peer) { t.seen(p, true) }

func (t *Table) seen(p kad.Peer, responded bool) SeenResult {
	i := BucketIndex(t.self, p.ID)
	if i < 0 || !usableAddr(p.Addr) {
		return Rejected
	}
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.bucketAt(i)
	if list, j := b.lookup(p.ID); list != nil {
		return t.refresh(b, list, j, p.Addr, now, responded)
	}
	full := len(b.members) >= t.cfg.K
	if (full && t.cfg.ReplacementSize == 0) || !t.subnetAllows(b, p.Addr.Addr()) {
		return Rejected
	}
	c := kad.Contact{ID: p.ID, Addr: p.Addr, FirstSeen: now, LastSeen: now, Place: kad.InBucket}
	if responded {
		c.LastResponse = now
	}
	t.addSubnet(p.Addr.Addr())
	if !full {
		t.addMember(b, c)
		return Inserted
	}
	c.Place = kad.InReplacement
	// One more than the cache holds: the newcomer goes in before the
	// oldest goes out.
	b.replacements = insertOrdered(b.replacements, c, newestOrder, t.cfg.ReplacementSize+1)
	if last := len(b.replacements) - 1; last == t.cfg.ReplacementSize {
		// The newcomer is the newest even when its LastSeen ties with the
		// oldest's and the ID order puts it last.
		if b.replacements[last].ID == c.ID {
			last--
		}
		t.removeReplacement(b, last)
	}
	t.put(c)
	t.checkLiveness(b)
	return Replacement
}

// refresh updates the known entry (*list)[j] that was just seen at addr.
func (t *Table) refresh(b *bucket, list *[]kad.Contact, j int, addr netip.AddrPort, now time.Time, responded bool) SeenResult {
	c := (*list)[j]
	structural := false
	if c.Addr != addr {
		if !t.sameSubnet(c.Addr.Addr(), addr.Addr()) {
			// The old address lies in another subnet, so it does not count
			// against the new one.
			if !t.subnetAllows(b, addr.Addr()) {
				return Rejected
			}
			t.dropSubnet(c.Addr.Addr())
			t.addSubnet(addr.Addr())
		}
		c.Addr = addr
		structural = true
	}
	c.LastSeen = now
	if responded {
		c.LastResponse = now
		if c.Failures != 0 {
			c.Failures = 0
			structural = true
		}
	}
	(*list)[j] = c
	result := Refreshed
	if c.Place == kad.InReplacement {
		reposition(*list, j, newestOrder)
		result = Replacement
	} else {
		reposition(*list, j, seenOrder)
	}
	// Timestamps alone go through Touch, which the store coalesces.
	if structural {
		t.put(c)
	} else {
		t.touch(c)
	}
	if result == Replacement {
		t.checkLiveness(b)
	}
	return result
}

// Failed counts a failed query to id; at MaxFailures consecutive failures
// the contact is dropped, and a member's place goes to the newest
// replacement.
func (t *Table) Failed(id krpc.ID) {
	t.mu.Lock()
	defer t.mu.Unlock()
	b, list, j := t.locate(id)
	if list == nil {
		return
	}
	c := &(*list)[j]
	if c.Failures++; c.Failures < t.cfg.MaxFailures {
		t.put(*c)
		return
	}
	if list == &b.members {
		t.evictions++
		t.log.Info("evicted a contact after consecutive failures", "id", c.ID, "addr", c.Addr, "failures", c.Failures)
	}
	t.remove(b, list, j)
}

// Remove drops id from the table, promoting a replacement if it was a
// member.
func (t *Table) Remove(id krpc.ID) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if b, list, j := t.locate(id); list != nil {
		t.remove(b, list, j)
	}
}

// bucketAt is bucket i, made if it was not yet.
func (t *Table) bucketAt(i int) *bucket {
	if t.buckets[i] == nil {
		t.buckets[i] = new(bucket)
	}
	return t.buckets[i]
}

// locate finds id's bucket and its entry there; list is nil if id is not
// in the table.
func (t *Table) locate(id krpc.ID) (b *bucket, list *[]kad.Contact, j int) {
	i := BucketIndex(t.self, id)
	if i < 0 || t.buckets[i] == nil {
		return nil, nil, -1
	}
	b = t.buckets[i]
	list, j = b.lookup(id)
	return b, list, j
}

// Evictions counts members dropped for failing (queries or liveness pings).
func (t *Table) Evictions() uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.evictions
}

func (t *Table) addMember(b *bucket, c kad.Contact) {
	c.Place = kad.InBucket
	b.members = insertOrdered(b.members, c, seenOrder, t.cfg.K)
	t.members++
	t.put(c)
}

// remove drops (*list)[j] of bucket b.
func (t *Table) remove(b *bucket, list *[]kad.Contact, j int) {
	if list == &b.members {
		t.removeMember(b, j)
	} else {
		t.removeReplacement(b, j)
	}
}

// removeMember drops b.members[j] and promotes the newest replacement.
func (t *Table) removeMember(b *bucket, j int) {
	c := b.members[j]
	b.members = append(b.members[:j], b.members[j+1:]...)
	t.members--
	t.departed.add(c)
	t.dropSubnet(c.Addr.Addr())
	t.del(c.ID)
	if len(b.replacements) > 0 {
		r := b.replacements[0]
		b.replacements = append(b.replacements[:0], b.replacements[1:]...)
		t.addMember(b, r)
	}
	if t.members == 0 && t.onEmpty != nil {
		t.onEmpty()
	}
}

// setOnEmpty makes f be called whenever the table's last member leaves.
// f runs with the table's lock held: it must only signal.
func (t *Table) setOnEmpty(f func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.onEmpty = f
}

func (t *Table) removeReplacement(b *bucket, j int) {
	c := b.replacements[j]
	b.replacements = append(b.replacements[:j], b.replacements[j+1:]...)
	t.dropSubnet(c.Addr.Addr())
	t.del(c.ID)
}

// Close cancels in-flight liveness pings, waits for them, and writes
// every change made before it to the store. The table still answers from
// memory afterwards, but starts no pings and persists nothing.
func (t *Table) Close() {
	t.mu.Lock()
	t.closed = true
	t.mu.Unlock()
	t.cancel()
	t.pings.Wait()
	t.flusher.Wait()
	t.Flush()
}
