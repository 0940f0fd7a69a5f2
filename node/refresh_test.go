package node

import (
	"context"
	"maps"
	"math/rand/v2"
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/anacrolix/dht/v2/krpc"
)

func TestRefreshLooksUpOnlyDueBuckets(t *testing.T) {
	synctest.Test(t, testRefreshLooksUpOnlyDueBuckets)
}

func testRefreshLooksUpOnlyDueBuckets(t *testing.T) {
	fn := newFakeNet()
	clock := newManualClock()
	nodes := fakeNetwork(t, fn, 10, Config{Clock: clock})
	n := nodes[4]
	first := n.table.ClosestNonEmptyBucket()
	if first < 0 {
		t.Fatal("empty table after join")
	}
	if got := n.refreshDue(lookupCtx(t)); got != 0 {
		t.Fatalf("refreshed %d buckets right after start, want 0", got)
	}
	// Past the longest jittered interval every bucket from the closest
	// non-empty one outwards is due, and each gets one lookup.
	clock.Advance(DefaultRefreshInterval * 5 / 4)
	before := n.rpcsOut.get("find_node", outcomeOK)
	if got, want := n.refreshDue(lookupCtx(t)), NumBuckets-first; got != want {
		t.Fatalf("refreshed %d buckets, want %d (%d..%d)", got, want, first, NumBuckets-1)
	}
	if n.rpcsOut.get("find_node", outcomeOK) == before {
		t.Fatal("refresh sent no find_node")
	}
	if got := n.refreshDue(lookupCtx(t)); got != 0 {
		t.Fatalf("refreshed %d buckets again at once, want 0", got)
	}
}

func TestLookupPostponesItsBucketsRefresh(t *testing.T) {
	var r refreshTimes
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r.init(start, time.Hour)
	r.mark(150, start.Add(time.Hour))
	due := r.dueBuckets(start.Add(5*time.Hour/4), 140)
	for _, b := range due {
		if b == 150 {
			t.Fatal("bucket 150 is due right after a lookup into it")
		}
	}
	if len(due) != NumBuckets-140-1 {
		t.Fatalf("%d buckets due, want %d", len(due), NumBuckets-140-1)
	}
}

func TestRevalidationEvictsDeadAndKeepsLive(t *testing.T) {
	synctest.Test(t, testRevalidationEvictsDeadAndKeepsLive)
}

func testRevalidationEvictsDeadAndKeepsLive(t *testing.T) {
	fn := newFakeNet()
	nodes := fakeNetwork(t, fn, 6, Config{MaxFailures: 2, RevalidateInterval: 10 * time.Millisecond})
	n := nodes[0]
	dead := nodes[5]
	eventually(t, "the last node to be in the first's table", func() bool {
		_, ok := n.table.Get(dead.tr.id)
		return ok
	})
	dead.tr.down.Store(true)
	eventually(t, "revalidation to evict the dead node", func() bool {
		_, ok := n.table.Get(dead.tr.id)
		return !ok
	})
	for _, live := range nodes[1:5] {
		if c, ok := n.table.Get(live.tr.id); ok && c.Failures != 0 {
			t.Fatalf("live contact %x has %d failures", live.tr.id, c.Failures)
		}
	}
	if n.Stats().Evictions == 0 {
		t.Fatal("eviction not counted")
	}
}

// TestLivenessPingsCloseTheirSessions: the pings of revalidation and of
// an eviction verdict are marked so that a session they open closes as
// soon as the check is done (kad.Transient, nothing kept); the contact
// will not be pinged again for a whole turn of the table.
func TestLivenessPingsCloseTheirSessions(t *testing.T) {
	fn := newFakeNet()
	nodes := fakeNetwork(t, fn, 3, Config{RevalidateInterval: time.Hour})
	n, peer := nodes[0], nodes[1]
	before := n.tr.pings.Load()
	n.revalidate(context.Background(), peer.tr.id, peer.tr.addr)
	c, _ := n.table.Get(peer.tr.id)
	if _, err := n.confirmAlive(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	if sent := n.tr.pings.Load() - before; sent != 2 {
		t.Fatalf("%d pings sent, want 2", sent)
	}
	if got := n.tr.endedTransientPings(); got != 2 {
		t.Fatalf("%d of 2 liveness pings marked to close their session once done", got)
	}
	// An operator's ping is not a liveness check: its session lasts.
	if _, _, err := n.Ping(context.Background(), peer.contact()); err != nil {
		t.Fatal(err)
	}
	if got := n.tr.endedTransientPings(); got != 2 {
		t.Fatalf("an operator's ping was marked transient (%d marked)", got)
	}
}

// TestMaintenanceLookupsKeepNoSession: the join's lookups mark their
// queries so that every session they open closes when the join ends (one
// scope for the whole join); an operator's lookup and a round of bucket
// refreshes keep the sessions to table members.
func TestMaintenanceLookupsKeepNoSession(t *testing.T) {
	synctest.Test(t, testMaintenanceLookupsKeepNoSession)
}

func testMaintenanceLookupsKeepNoSession(t *testing.T) {
	fn := newFakeNet()
	clock := newManualClock()
	nodes := fakeNetwork(t, fn, 10, Config{Clock: clock})
	n := nodes[9]
	if got := n.tr.findKeepNone.Load(); got == 0 {
		t.Fatal("the join sent no find_node marked to keep no session")
	}
	if got := n.tr.findKeepSome.Load(); got != 0 {
		t.Fatalf("the join kept sessions of %d find_node queries", got)
	}
	if got := n.tr.scopesKeepingNone(); got != 1 {
		t.Fatalf("the join's lookups ran under %d scopes, want 1", got)
	}
	if _, err := n.Lookup(lookupCtx(t), krpc.RandomNodeID()); err != nil {
		t.Fatal(err)
	}
	if n.tr.findKeepSome.Load() == 0 {
		t.Fatal("an operator's lookup did not keep its sessions to table members")
	}
	lookedUp := n.tr.findKeepSome.Load()
	clock.Advance(DefaultRefreshInterval * 5 / 4)
	if n.refreshDue(lookupCtx(t)) == 0 {
		t.Fatal("no bucket refreshed")
	}
	if n.tr.findKeepSome.Load() == lookedUp {
		t.Fatal("the refresh did not keep its sessions to table members")
	}
}

func TestExternalAddressNeedsAgreement(t *testing.T) {
	var e externalAddr
	a := netip.MustParseAddrPort("203.0.113.5:4114")
	b := netip.MustParseAddrPort("203.0.113.9:4114")
	var na, nb krpc.NodeAddr
	na.FromAddrPort(a)
	nb.FromAddrPort(b)
	r1, r2, r3 := krpc.RandomNodeID(), krpc.RandomNodeID(), krpc.RandomNodeID()
	e.vote(r1, na)
	e.vote(r1, na) // the same responder twice counts once
	e.vote(r2, nb)
	e.vote(r2, na)
	if got := e.get(); got.IsValid() {
		t.Fatalf("adopted %v from 2 responders", got)
	}
	e.vote(r3, na)
	if got := e.get(); got != a {
		t.Fatalf("got %v, want %v once 3 responders agree", got, a)
	}
	e.vote(krpc.RandomNodeID(), krpc.NodeAddr{}) // no ip field: ignored
	if got := e.get(); got != a {
		t.Fatalf("an empty report changed the address to %v", got)
	}
}

func TestSelfUsesLearnedExternalAddress(t *testing.T) {
	synctest.Test(t, testSelfUsesLearnedExternalAddress)
}

func testSelfUsesLearnedExternalAddress(t *testing.T) {
	fn := newFakeNet()
	nodes := fakeNetwork(t, fn, 5, Config{})
	n := nodes[4]
	if _, err := n.Lookup(lookupCtx(t), krpc.RandomNodeID()); err != nil {
		t.Fatal(err)
	}
	self := n.Self()
	if self.External != n.tr.addr {
		t.Fatalf("external %v, want %v reported by the responders", self.External, n.tr.addr)
	}
	if want := n.tr.id.String() + "@" + n.tr.addr.String(); self.Contact != want {
		t.Fatalf("contact %q, want %q", self.Contact, want)
	}
}

func TestRTTTimeoutFollowsSamples(t *testing.T) {
	var e rttEstimator
	lo, hi := 50*time.Millisecond, time.Second
	if got := e.timeout(lo, hi); got != hi {
		t.Fatalf("no samples: %v, want the ceiling %v", got, hi)
	}
	for range 20 {
		e.observe(time.Millisecond)
	}
	if got := e.timeout(lo, hi); got != lo {
		t.Fatalf("fast network: %v, want the floor %v", got, lo)
	}
	for range 20 {
		e.observe(400 * time.Millisecond)
	}
	if got := e.timeout(lo, hi); got <= 400*time.Millisecond {
		t.Fatalf("slow network: %v, want above the 400ms round trip", got)
	}
}

// Past the bound the round-trip times of peers outside the table go, and
// those of members, and of the peer that just answered, stay.
func TestPeerRTTsKeepTableMembersPastTheBound(t *testing.T) {
	var p peerRTTs
	members := map[krpc.ID]bool{}
	ids := make([]krpc.ID, maxPeerRTTs+1)
	for i := range ids {
		ids[i] = krpc.RandomNodeID()
		if i%100 == 0 {
			members[ids[i]] = true
		}
	}
	inTable := func(id krpc.ID) bool { return members[id] }
	for i, id := range ids {
		p.observe(id, time.Duration(i+1)*time.Millisecond, inTable)
	}
	last := ids[len(ids)-1]
	if n := len(p.m); n != len(members)+1 {
		t.Fatalf("%d times kept past the bound, want the %d members' and the last peer's", n, len(members))
	}
	for i, id := range ids {
		want := time.Duration(0)
		if members[id] || id == last {
			want = time.Duration(i+1) * time.Millisecond
		}
		if got := p.get(id); got != want {
			t.Fatalf("peer %d (member %v): rtt %v, want %v", i, members[id], got, want)
		}
	}
}

// The tally kept beside the votes matches a recount of the window after
// every vote, old responders leave the window, and a tie keeps the agreed
// address.
func TestExternalAddressTallyFollowsWindow(t *testing.T) {
	var e externalAddr
	addrs := []netip.AddrPort{
		netip.MustParseAddrPort("203.0.113.5:4114"),
		netip.MustParseAddrPort("203.0.113.9:4114"),
		netip.MustParseAddrPort("198.51.100.7:6881"),
	}
	ids := make([]krpc.ID, 3*ExternalVoteWindow)
	for i := range ids {
		ids[i] = krpc.RandomNodeID()
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for step := range 5000 {
		var na krpc.NodeAddr
		na.FromAddrPort(addrs[rng.IntN(len(addrs))])
		before := e.get()
		e.vote(ids[rng.IntN(len(ids))], na)
		recount := map[netip.AddrPort]int{}
		for _, v := range e.votes {
			recount[v]++
		}
		if !maps.Equal(recount, e.tally) || len(e.votes) > ExternalVoteWindow {
			t.Fatalf("step %d: tally %v, recount %v of %d votes", step, e.tally, recount, len(e.votes))
		}
		got := e.get()
		for a, n := range recount {
			if n > recount[got] && n >= ExternalAgreement {
				t.Fatalf("step %d: agreed %v with %d votes, %v has %d", step, got, recount[got], a, n)
			}
		}
		if before.IsValid() && got != before && recount[got] <= recount[before] {
			t.Fatalf("step %d: moved from %v (%d votes) to %v (%d) without a majority", step, before, recount[before], got, recount[got])
		}
	}
	// A full window of new responders pushes every old report out.
	var nb krpc.NodeAddr
	nb.FromAddrPort(addrs[1])
	for range ExternalVoteWindow {
		e.vote(krpc.RandomNodeID(), nb)
	}
	if got := e.get(); got != addrs[1] || len(e.tally) != 1 {
		t.Fatalf("after a window of reports of %v: agreed %v, tally %v", addrs[1], got, e.tally)
	}
}
