package node

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/kadnode/kadnode/kad"
)

var testSelf = krpc.ID{0x5a, 0xa5, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12}

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 1)) }

func TestBucketIndexAndDistance(t *testing.T) {
	if got := BucketIndex(testSelf, testSelf); got != -1 {
		t.Fatalf("BucketIndex(self, self) = %d, want -1", got)
	}
	far, near := testSelf, testSelf
	far[0] ^= 0x80
	near[19] ^= 0x01
	if got := BucketIndex(testSelf, far); got != 159 {
		t.Fatalf("top bit differs: bucket %d, want 159", got)
	}
	if got := BucketIndex(testSelf, near); got != 0 {
		t.Fatalf("bottom bit differs: bucket %d, want 0", got)
	}
	if CompareDistance(testSelf, near, far) != -1 || CompareDistance(testSelf, far, near) != 1 || CompareDistance(testSelf, far, far) != 0 {
		t.Fatal("CompareDistance does not order near before far")
	}
	if d := Distance(far, testSelf); d != (krpc.ID{0x80}) {
		t.Fatalf("Distance = %x, want 80 00…", d)
	}
	r := newRand(1)
	for i := range NumBuckets {
		a, b := RandomIDInBucket(testSelf, i, r), RandomIDInBucket(testSelf, i, r)
		if BucketIndex(testSelf, a) != i || BucketIndex(testSelf, b) != i {
			t.Fatalf("RandomIDInBucket(%d) landed in buckets %d and %d", i, BucketIndex(testSelf, a), BucketIndex(testSelf, b))
		}
		if i >= 8 && a == b {
			t.Fatalf("RandomIDInBucket(%d) gave the same ID twice: %x", i, a)
		}
	}
	if got := RandomIDInBucket(testSelf, NumBuckets, nil); got != testSelf {
		t.Fatalf("out-of-range bucket gave %x, want self", got)
	}
}

func TestSeenInsertsRefreshesAndRejects(t *testing.T) {
	fs, clock := newFakeStore(), newManualClock()
	tab := NewTable(testSelf, TableConfig{}, fs, clock, nil, nil)
	defer tab.Close()
	r := newRand(2)
	ids := []krpc.ID{idInBucket(testSelf, 150, r), idInBucket(testSelf, 150, r), idInBucket(testSelf, 150, r)}
	for i, id := range ids {
		if got := tab.Seen(peer(id, privateAddr(i))); got != Inserted {
			t.Fatalf("new contact %d: %v, want inserted", i, got)
		}
		clock.Advance(time.Second)
	}
	// Seeing the first again moves it to the tail with a Touch, not a Put.
	puts, _, _ := fs.counts(tab)
	if got := tab.Seen(peer(ids[0], privateAddr(0))); got != Refreshed {
		t.Fatalf("known contact: %v, want refreshed", got)
	}
	if p, _, touches := fs.counts(tab); p != puts || touches != 1 {
		t.Fatalf("refresh wrote %d puts and %d touches, want 0 and 1", p-puts, touches)
	}
	order := tab.Contacts()
	if order[0].ID != ids[1] || order[2].ID != ids[0] {
		t.Fatalf("refreshed contact is not at the tail: %x", []krpc.ID{order[0].ID, order[1].ID, order[2].ID})
	}
	if lrs, _ := tab.LeastRecentlySeen(); lrs.ID != ids[1] {
		t.Fatalf("least recently seen %x, want %x", lrs.ID, ids[1])
	}
	// A new address is authenticated, so it replaces the old one (a Put).
	if got := tab.Seen(peer(ids[1], privateAddr(99))); got != Refreshed {
		t.Fatalf("address change: %v", got)
	}
	if c, _ := tab.Get(ids[1]); c.Addr != privateAddr(99) {
		t.Fatalf("address not updated: %v", c.Addr)
	}
	if p, _, _ := fs.counts(tab); p != puts+1 {
		t.Fatalf("address change wrote %d puts, want 1", p-puts)
	}
	// Never self, never an address nobody can answer from.
	for name, p := range map[string]struct {
		id   krpc.ID
		addr netip.AddrPort
	}{
		"self":        {testSelf, privateAddr(7)},
		"zero port":   {idInBucket(testSelf, 3, r), netip.AddrPortFrom(netip.MustParseAddr("10.1.2.3"), 0)},
		"unspecified": {idInBucket(testSelf, 3, r), netip.MustParseAddrPort("0.0.0.0:4000")},
		"multicast":   {idInBucket(testSelf, 3, r), netip.MustParseAddrPort("[ff02::1]:4000")},
		"invalid":     {idInBucket(testSelf, 3, r), netip.AddrPort{}},
	} {
		if got := tab.Seen(peer(p.id, p.addr)); got != Rejected {
			t.Errorf("%s: %v, want rejected", name, got)
		}
	}
	if tab.Len() != 3 {
		t.Fatalf("Len = %d, want 3", tab.Len())
	}
	checkTable(t, tab, fs)
	checkReload(t, tab, fs)
}

// fullBucket makes a table whose bucket 159 is full (members seen one
// second apart, the first least recently, all longer ago than
// GoodContactWindow so that a newcomer makes the table ping) and returns
// the members' IDs.
func fullBucket(t *testing.T, fs *fakeStore, clock *manualClock, ping LivenessPing) (*Table, []krpc.ID) {
	t.Helper()
	tab := NewTable(testSelf, TableConfig{}, fs, clock, ping, nil)
	r := newRand(3)
	var ids []krpc.ID
	for i := range DefaultK {
		id := idInBucket(testSelf, 159, r)
		if got := tab.Seen(peer(id, privateAddr(i))); got != Inserted {
			t.Fatalf("filling: %v", got)
		}
		ids = append(ids, id)
		clock.Advance(time.Second)
	}
	clock.Advance(GoodContactWindow)
	return tab, ids
}

func TestFullBucketKeepsLiveLeastRecentlySeen(t *testing.T) {
	fs, clock, sp := newFakeStore(), newManualClock(), newScriptedPing(testSelf)
	tab, ids := fullBucket(t, fs, clock, sp.ping)
	defer tab.Close()
	applied := pingHook(tab)

	newcomer := idInBucket(testSelf, 159, newRand(4))
	if got := tab.Seen(peer(newcomer, privateAddr(1000))); got != Replacement {
		t.Fatalf("newcomer for a full bucket: %v, want replacement", got)
	}
	call := sp.next(t)
	if call.c.ID != ids[0] {
		t.Fatalf("pinged %x, want the least recently seen %x", call.c.ID, ids[0])
	}
	clock.Advance(time.Minute)
	answer(t, call, nil, applied)

	lrs, ok := tab.Get(ids[0])
	if !ok || lrs.Place != kad.InBucket || !lrs.LastResponse.Equal(clock.Now()) || !lrs.LastSeen.Equal(clock.Now()) {
		t.Fatalf("live contact after ping: %+v (present %v), want a refreshed member", lrs, ok)
	}
	if c, ok := tab.Get(newcomer); !ok || c.Place != kad.InReplacement {
		t.Fatalf("newcomer: %+v (present %v), want waiting in the replacement cache", c, ok)
	}
	if members := tab.Contacts(); members[DefaultK-1].ID != ids[0] {
		t.Fatal("answered contact did not move to the tail")
	}
	if tab.Evictions() != 0 {
		t.Fatalf("evictions = %d, want 0", tab.Evictions())
	}
	checkTable(t, tab, fs)
	checkReload(t, tab, fs)
}

// A full bucket whose members were all seen within GoodContactWindow is
// full of good contacts (BEP 5): a newcomer waits in the replacement cache
// and nobody is pinged. Once the least recently seen member is older than
// the window, the next newcomer makes the table ping it.
func TestFullBucketOfGoodContactsPingsNobody(t *testing.T) {
	fs, clock, sp := newFakeStore(), newManualClock(), newScriptedPing(testSelf)
	tab, ids := fullBucket(t, fs, clock, sp.ping)
	defer tab.Close()
	applied := pingHook(tab)
	for i, id := range ids { // every member proves itself again, in order
		tab.Responded(peer(id, privateAddr(i)))
		clock.Advance(time.Millisecond)
	}
	clock.Advance(GoodContactWindow - time.Second)

	r := newRand(6)
	first := idInBucket(testSelf, 159, r)
	if got := tab.Seen(peer(first, privateAddr(1000))); got != Replacement {
		t.Fatalf("newcomer for a full bucket: %v, want replacement", got)
	}
	if total, _, _ := sp.stats(); total != 0 || pingsInFlight(tab) != 0 {
		t.Fatalf("%d liveness pings for a bucket of good contacts, want none", total)
	}

	clock.Advance(time.Second)
	if got := tab.Seen(peer(idInBucket(testSelf, 159, r), privateAddr(1001))); got != Replacement {
		t.Fatalf("second newcomer: %v, want replacement", got)
	}
	call := sp.next(t)
	if call.c.ID != ids[0] {
		t.Fatalf("pinged %x, want the least recently seen %x", call.c.ID, ids[0])
	}
	answer(t, call, errors.New("no answer"), applied)
	if _, ok := tab.Get(ids[0]); ok {
		t.Fatal("the silent member stayed")
	}
	checkTable(t, tab, fs)
}

func TestFullBucketEvictsDeadLeastRecentlySeen(t *testing.T) {
	fs, clock, sp := newFakeStore(), newManualClock(), newScriptedPing(testSelf)
	tab, ids := fullBucket(t, fs, clock, sp.ping)
	defer tab.Close()
	applied := pingHook(tab)

	r := newRand(5)
	older, newer := idInBucket(testSelf, 159, r), idInBucket(testSelf, 159, r)
	tab.Seen(peer(older, privateAddr(1000)))
	call := sp.next(t)
	clock.Advance(time.Second)
	tab.Seen(peer(newer, privateAddr(1001)))
	answer(t, call, errors.New("timeout"), applied)

	if _, ok := tab.Get(ids[0]); ok {
		t.Fatal("dead least-recently-seen contact is still in the table")
	}
	if c, ok := tab.Get(newer); !ok || c.Place != kad.InBucket {
		t.Fatalf("newest replacement: %+v (present %v), want promoted", c, ok)
	}
	if c, ok := tab.Get(older); !ok || c.Place != kad.InReplacement {
		t.Fatalf("older replacement: %+v (present %v), want still waiting", c, ok)
	}
	if tab.Len() != DefaultK || tab.Evictions() != 1 {
		t.Fatalf("Len %d, evictions %d; want %d and 1", tab.Len(), tab.Evictions(), DefaultK)
	}
	checkTable(t, tab, fs)
	checkReload(t, tab, fs)
}

func TestNewcomerFloodPingsOneAtATime(t *testing.T) {
	fs, clock, sp := newFakeStore(), newManualClock(), newScriptedPing(testSelf)
	tab, ids := fullBucket(t, fs, clock, sp.ping)
	applied := pingHook(tab)

	r := newRand(6)
	var newest []krpc.ID
	for i := range 1000 {
		id := idInBucket(testSelf, 159, r)
		if got := tab.Seen(peer(id, privateAddr(1000+i))); got != Replacement {
			t.Fatalf("newcomer %d: %v", i, got)
		}
		newest = append([]krpc.ID{id}, newest...)
		clock.Advance(time.Millisecond)
	}
	call := sp.next(t)
	if total, _, _ := sp.stats(); total != 1 {
		t.Fatalf("1,000 newcomers caused %d pings, want 1", total)
	}
	_, repl := tab.BucketSizes()
	if repl[159] != DefaultReplacementSize {
		t.Fatalf("replacement cache holds %d, want %d", repl[159], DefaultReplacementSize)
	}
	cs := tab.Contacts()
	for i, c := range cs[DefaultK:] {
		if c.ID != newest[i] {
			t.Fatalf("replacement %d is %x, want the %d-th newest %x", i, c.ID, i, newest[i])
		}
	}
	// Once it is answered, the next newcomer may start the next ping.
	answer(t, call, nil, applied)
	tab.Seen(peer(idInBucket(testSelf, 159, r), privateAddr(5000)))
	second := sp.next(t)
	if second.c.ID != ids[1] {
		t.Fatalf("second ping went to %x, want the new least recently seen %x", second.c.ID, ids[1])
	}
	if _, maxInFlight, _ := sp.stats(); maxInFlight != 1 {
		t.Fatalf("%d pings ran at once, want 1", maxInFlight)
	}
	checkTable(t, tab, fs)
	// Close cancels the unanswered ping and waits for it; the outcome of a
	// cancelled ping evicts nobody.
	tab.Close()
	if _, ok := tab.Get(ids[1]); !ok {
		t.Fatal("a ping cancelled by Close evicted its contact")
	}
	if tab.Seen(peer(idInBucket(testSelf, 159, r), privateAddr(5001))) != Replacement {
		t.Fatal("a closed table stopped serving from memory")
	}
	if total, _, _ := sp.stats(); total != 2 {
		t.Fatalf("a closed table started a ping (%d in all)", total)
	}
}

func TestFailedEvictsAtMaxFailures(t *testing.T) {
	fs, clock := newFakeStore(), newManualClock()
	tab, ids := fullBucket(t, fs, clock, nil)
	defer tab.Close()
	waiting := idInBucket(testSelf, 159, newRand(7))
	tab.Seen(peer(waiting, privateAddr(1000)))

	victim := ids[5]
	tab.Failed(victim)
	tab.Failed(victim)
	if c, _ := tab.Get(victim); c.Failures != 2 {
		t.Fatalf("failures = %d, want 2", c.Failures)
	}
	checkTable(t, tab, fs) // the count reached the store
	// An answer resets the count.
	tab.Responded(peer(victim, privateAddr(5)))
	if c, _ := tab.Get(victim); c.Failures != 0 || !c.LastResponse.Equal(clock.Now()) {
		t.Fatalf("after a response: %+v, want failures 0 and a last response", c)
	}
	for range DefaultMaxFailures {
		tab.Failed(victim)
	}
	if _, ok := tab.Get(victim); ok {
		t.Fatalf("%d consecutive failures did not evict", DefaultMaxFailures)
	}
	if c, _ := tab.Get(waiting); c.Place != kad.InBucket {
		t.Fatal("the replacement was not promoted")
	}
	if tab.Evictions() != 1 {
		t.Fatalf("evictions = %d, want 1", tab.Evictions())
	}
	// A replacement that fails as often is dropped from the cache.
	extra := idInBucket(testSelf, 159, newRand(8))
	tab.Seen(peer(extra, privateAddr(1001)))
	for range DefaultMaxFailures {
		tab.Failed(extra)
	}
	if _, ok := tab.Get(extra); ok {
		t.Fatal("a failing replacement stayed")
	}
	tab.Failed(idInBucket(testSelf, 100, newRand(9))) // unknown: nothing happens
	tab.Remove(ids[9])
	if _, ok := tab.Get(ids[9]); ok || tab.Len() != DefaultK-1 {
		t.Fatalf("Remove left the contact (Len %d)", tab.Len())
	}
	checkTable(t, tab, fs)
	checkReload(t, tab, fs)
}

func TestSubnetLimitsForPublicAddresses(t *testing.T) {
	fs, clock := newFakeStore(), newManualClock()
	tab := NewTable(testSelf, TableConfig{}, fs, clock, nil, nil)
	defer tab.Close()
	r := newRand(10)
	// Per bucket: two of one /24.
	for h := range 3 {
		got := tab.Seen(peer(idInBucket(testSelf, 159, r), publicAddr(1, h+1)))
		if want := map[bool]SeenResult{true: Inserted, false: Rejected}[h < DefaultBucketSubnetLimit]; got != want {
			t.Fatalf("entry %d of a /24 in one bucket: %v, want %v", h+1, got, want)
		}
	}
	// Per table: ten of one /24, two per bucket over five buckets.
	for i := range 6 {
		for h := range 2 {
			got := tab.Seen(peer(idInBucket(testSelf, 100+i, r), publicAddr(2, 10*i+h+1)))
			want := Inserted
			if i == 5 {
				want = Rejected
			}
			if got != want {
				t.Fatalf("entry %d of a /24 in the table: %v, want %v", 2*i+h+1, got, want)
			}
		}
	}
	// IPv6 counts by /64.
	v6 := func(net, host uint16) netip.AddrPort {
		return netip.AddrPortFrom(netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, byte(net), 6: 0, 7: 0, 14: byte(host >> 8), 15: byte(host)}), 4000)
	}
	tab.Seen(peer(idInBucket(testSelf, 140, r), v6(1, 1)))
	tab.Seen(peer(idInBucket(testSelf, 140, r), v6(1, 2)))
	if got := tab.Seen(peer(idInBucket(testSelf, 140, r), v6(1, 3))); got != Rejected {
		t.Fatalf("third of a /64 in one bucket: %v", got)
	}
	if got := tab.Seen(peer(idInBucket(testSelf, 140, r), v6(2, 3))); got != Inserted {
		t.Fatalf("another /64: %v", got)
	}
	// An address change is checked as well: moving into a full /24 is
	// refused and the old address stays.
	mover := idInBucket(testSelf, 159, r)
	tab.Seen(peer(mover, publicAddr(3, 1)))
	if got := tab.Seen(peer(mover, publicAddr(1, 9))); got != Rejected {
		t.Fatalf("moving into a full /24: %v, want rejected", got)
	}
	if c, _ := tab.Get(mover); c.Addr != publicAddr(3, 1) {
		t.Fatalf("refused move changed the address to %v", c.Addr)
	}
	if got := tab.Seen(peer(mover, publicAddr(3, 2))); got != Refreshed {
		t.Fatalf("move within its own /24: %v", got)
	}
	checkTable(t, tab, fs)
	checkReload(t, tab, fs)
}

func TestSubnetLimitsExemptLoopbackUnlessConfigured(t *testing.T) {
	r := newRand(11)
	loopback := func(i int) netip.AddrPort {
		return netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(5000+i))
	}
	tab := NewTable(testSelf, TableConfig{}, nil, newManualClock(), nil, nil)
	defer tab.Close()
	for i := range DefaultK {
		if got := tab.Seen(peer(idInBucket(testSelf, 159, r), loopback(i))); got != Inserted {
			t.Fatalf("loopback contact %d: %v, want inserted", i, got)
		}
	}
	for i := range 30 { // more than the table limit, in other buckets
		if got := tab.Seen(peer(idInBucket(testSelf, 150-i/2, r), loopback(100+i))); got != Inserted {
			t.Fatalf("loopback contact %d: %v, want inserted", DefaultK+i, got)
		}
	}
	limited := NewTable(testSelf, TableConfig{LimitPrivate: true}, nil, newManualClock(), nil, nil)
	defer limited.Close()
	for i := range 3 {
		got := limited.Seen(peer(idInBucket(testSelf, 159, r), loopback(i)))
		if want := map[bool]SeenResult{true: Inserted, false: Rejected}[i < 2]; got != want {
			t.Fatalf("LimitPrivate, loopback contact %d: %v, want %v", i, got, want)
		}
	}
	checkTable(t, tab, nil)
	checkTable(t, limited, nil)
}

func TestStoreErrorsAreLoggedOncePerKindAndTableServes(t *testing.T) {
	fs, clock, logs := newFakeStore(), newManualClock(), &logBuffer{}
	fs.err = errors.New("disk full")
	tab := NewTable(testSelf, TableConfig{}, fs, clock, nil, logs.logger())
	defer tab.Close()
	r := newRand(12)
	ids := make([]krpc.ID, 50)
	for i := range ids {
		ids[i] = idInBucket(testSelf, 159-i%5, r)
		if got := tab.Seen(peer(ids[i], privateAddr(i))); got != Inserted {
			t.Fatalf("insert with a failing store: %v", got)
		}
		tab.Flush()                            // so that the next one is a touch, not part of the put
		tab.Seen(peer(ids[i], privateAddr(i))) // touch
	}
	tab.Remove(ids[0])
	if tab.Len() != 49 {
		t.Fatalf("Len = %d, want 49", tab.Len())
	}
	if got := tab.Closest(ids[1], 1); len(got) != 1 || got[0].ID != ids[1] {
		t.Fatal("the table does not answer from memory")
	}
	tab.Flush()
	for _, op := range []string{"op=put", "op=touch", "op=delete"} {
		if n := logs.lines(op); n != 1 {
			t.Fatalf("%s logged %d times, want once", op, n)
		}
	}
	clock.Advance(StoreErrorLogInterval)
	tab.Seen(peer(ids[1], privateAddr(1)))
	tab.Flush()
	if n := logs.lines("op=touch"); n != 2 {
		t.Fatalf("after the interval touch errors logged %d times, want 2", n)
	}
	// The first line of each kind has nothing before it to count; the
	// second touch line counts the touch errors it stood for.
	if n := logs.lines("suppressed_since_last=0"); n != 3 {
		t.Fatalf("%d lines report no suppressed errors, want 3 (the first of each kind)", n)
	}
}

func TestLoadRebucketsForANewIdentity(t *testing.T) {
	fs, clock := newFakeStore(), newManualClock()
	tab := NewTable(testSelf, TableConfig{}, fs, clock, nil, nil)
	r := newRand(13)
	for i := range 400 {
		tab.Seen(peer(idInBucket(testSelf, 159-i%8, r), privateAddr(i)))
		clock.Advance(time.Second)
	}
	tab.Close()
	checkTable(t, tab, fs)
	checkReload(t, tab, fs)

	// The key was replaced: the new ID sits where bucket 159 was, so most
	// contacts now crowd a few buckets and overflow into the caches.
	newSelf := idInBucket(testSelf, 159, r)
	cs, _ := fs.Load()
	moved := NewTable(newSelf, TableConfig{}, fs, clock, nil, nil)
	defer moved.Close()
	moved.Load(cs)
	checkTable(t, moved, fs)
	members, repl := moved.BucketSizes()
	for i := range NumBuckets {
		if members[i] < DefaultK && repl[i] > 0 {
			t.Fatalf("bucket %d: %d members but %d replacements", i, members[i], repl[i])
		}
	}
	if moved.Len() == 0 || moved.Len() == tab.Len() {
		t.Fatalf("re-bucketed table has %d members (old %d); want a different, non-zero count", moved.Len(), tab.Len())
	}
	// A member that had to move to a cache keeps its recency order there.
	checkReload(t, moved, fs)

	// A contact that is now self is dropped (and deleted from the store).
	again := NewTable(newSelf, TableConfig{}, fs, clock, nil, nil)
	defer again.Close()
	again.Load(append(moved.Contacts(), kad.Contact{ID: newSelf, Addr: privateAddr(1), Place: kad.InBucket}))
	if _, ok := again.Get(newSelf); ok {
		t.Fatal("Load inserted self")
	}
}

func TestClosestAndBucketQueries(t *testing.T) {
	tab := NewTable(testSelf, TableConfig{}, nil, newManualClock(), nil, nil)
	defer tab.Close()
	if tab.ClosestNonEmptyBucket() != -1 || tab.Closest(testSelf, 5) != nil {
		t.Fatal("empty table: want no bucket and no contacts")
	}
	if _, ok := tab.LeastRecentlySeen(); ok {
		t.Fatal("empty table has a least recently seen contact")
	}
	r := newRand(14)
	for i := range 600 {
		tab.Seen(peer(idInBucket(testSelf, 40+i%120, r), privateAddr(i)))
	}
	if got := tab.ClosestNonEmptyBucket(); got != 40 {
		t.Fatalf("ClosestNonEmptyBucket = %d, want 40", got)
	}
	members := membersOf(tab.Contacts())
	for i := range 200 {
		var target krpc.ID
		for j := range target {
			target[j] = byte(r.Uint32())
		}
		if i%3 == 0 {
			target = idInBucket(testSelf, r.IntN(NumBuckets), r)
		}
		n := 1 + r.IntN(30)
		if d := diffContacts(tab.Closest(target, n), bruteClosest(members, target, n)); d != "" {
			t.Fatalf("Closest(%x, %d): %s", target, n, d)
		}
	}
	if d := diffContacts(tab.Closest(testSelf, 1000), bruteClosest(members, testSelf, 1000)); d != "" {
		t.Fatalf("Closest(self, all): %s", d)
	}
}

func TestCloseWaitsForPings(t *testing.T) {
	started := make(chan struct{})
	ping := func(ctx context.Context, c kad.Contact) error {
		close(started)
		<-ctx.Done()
		return ctx.Err()
	}
	tab, _ := fullBucket(t, newFakeStore(), newManualClock(), ping)
	tab.Seen(peer(idInBucket(testSelf, 159, newRand(15)), privateAddr(999)))
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("no liveness ping within 10s")
	}
	tab.Close() // goleak in TestMain fails the package if the ping outlives it
	tab.Close()
}

func TestNewcomerIsNewestEvenOnATimestampTie(t *testing.T) {
	fs, clock := newFakeStore(), newManualClock() // the clock never moves
	tab := NewTable(testSelf, TableConfig{K: 1, ReplacementSize: 1}, fs, clock, nil, nil)
	defer tab.Close()
	low, high := testSelf, testSelf
	low[0], high[0] = 0x80^testSelf[0]&0x80, 0xff^testSelf[0]&0x80 // bucket 159, low < high
	member := idInBucket(testSelf, 159, newRand(16))
	tab.Seen(peer(member, privateAddr(1)))
	tab.Seen(peer(low, privateAddr(2)))
	if got := tab.Seen(peer(high, privateAddr(3))); got != Replacement {
		t.Fatalf("newcomer: %v", got)
	}
	if _, ok := tab.Get(high); !ok {
		t.Fatal("the newcomer was dropped from the cache in favour of an entry as old as it")
	}
	if _, ok := tab.Get(low); ok {
		t.Fatal("the cache holds more than ReplacementSize")
	}
	checkTable(t, tab, fs)
	checkReload(t, tab, fs)
}
