package node

import (
	"context"
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/anacrolix/dht/v2/krpc"
)

func lookupCtx(tb testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	tb.Cleanup(cancel)
	return ctx
}

func TestLookupFindsEveryNode(t *testing.T) { synctest.Test(t, testLookupFindsEveryNode) }

func testLookupFindsEveryNode(t *testing.T) {
	fn := newFakeNet()
	nodes := fakeNetwork(t, fn, 30, Config{})
	for _, from := range nodes {
		for _, to := range nodes {
			if from == to {
				continue
			}
			res, err := from.Lookup(lookupCtx(t), to.tr.id)
			if err != nil {
				t.Fatal(err)
			}
			if !res.Found || res.Addr != to.tr.addr {
				t.Fatalf("lookup of %x from %x: found=%v addr=%v, want %v (stats %+v)",
					to.tr.id, from.tr.id, res.Found, res.Addr, to.tr.addr, res.Stats)
			}
		}
	}
}

func TestLookupReturnsTrueClosest(t *testing.T) { synctest.Test(t, testLookupReturnsTrueClosest) }

func testLookupReturnsTrueClosest(t *testing.T) {
	fn := newFakeNet()
	nodes := fakeNetwork(t, fn, 60, Config{K: 8})
	var ids []krpc.ID
	for _, n := range nodes {
		ids = append(ids, n.tr.id)
	}
	r := newRand(7)
	for i := range 40 {
		from := nodes[r.IntN(len(nodes))]
		var target krpc.ID
		for j := range target {
			target[j] = byte(r.Uint32())
		}
		res, err := from.Lookup(lookupCtx(t), target)
		if err != nil {
			t.Fatal(err)
		}
		var others []krpc.ID
		for _, id := range ids {
			if id != from.tr.id {
				others = append(others, id)
			}
		}
		want := trueClosest(others, target, 8)
		if len(res.Closest) != len(want) {
			t.Fatalf("lookup %d: %d closest, want %d", i, len(res.Closest), len(want))
		}
		for j, c := range res.Closest {
			if c.ID != want[j] {
				t.Fatalf("lookup %d: closest[%d] = %x, want %x", i, j, c.ID, want[j])
			}
		}
		if res.Stats.Responses == 0 || res.Stats.Queries < res.Stats.Responses || res.Stats.Rounds == 0 {
			t.Fatalf("implausible stats %+v", res.Stats)
		}
	}
}

func TestLookupCountsTimeoutsAndFailsDeadContacts(t *testing.T) {
	synctest.Test(t, testLookupCountsTimeoutsAndFailsDeadContacts)
}

func testLookupCountsTimeoutsAndFailsDeadContacts(t *testing.T) {
	fn := newFakeNet()
	nodes := fakeNetwork(t, fn, 10, Config{MaxFailures: 2})
	from, dead := nodes[0], nodes[9]
	if _, ok := from.table.Get(dead.tr.id); !ok {
		from.table.Responded(peer(dead.tr.id, dead.tr.addr))
	}
	dead.tr.down.Store(true)
	for i := 1; ; i++ {
		res, err := from.Lookup(lookupCtx(t), dead.tr.id)
		if err != nil {
			t.Fatal(err)
		}
		if res.Found {
			t.Fatal("found a node that is down")
		}
		if res.Stats.Timeouts == 0 {
			t.Fatalf("lookup %d of a down node counted no timeout: %+v", i, res.Stats)
		}
		if _, ok := from.table.Get(dead.tr.id); !ok {
			t.Fatalf("evicted after %d failed lookups, before its verdict", i)
		}
		if i == 2 {
			break
		}
	}
	// The MaxFailures-th failure starts the verdict, which evicts it.
	eventually(t, "the verdict to evict the dead contact", func() bool {
		_, ok := from.table.Get(dead.tr.id)
		return !ok
	})
	if got := from.Stats().RPCsOut["find_node"][outcomeTimeout]; got < 2 {
		t.Fatalf("find_node timeouts counted %d, want ≥ 2", got)
	}
}

func TestLookupLearnedContactsAreOnlyCandidates(t *testing.T) {
	synctest.Test(t, testLookupLearnedContactsAreOnlyCandidates)
}

func testLookupLearnedContactsAreOnlyCandidates(t *testing.T) {
	fn := newFakeNet()
	nodes := fakeNetwork(t, fn, 8, Config{})
	from := nodes[0]
	// A liar advertises a node at an address where nobody answers.
	bogus := krpc.RandomNodeID()
	liar := nodes[1]
	liar.table.Seen(peer(bogus, fn.endpoint().addr))
	res, err := from.Lookup(lookupCtx(t), bogus)
	if err != nil {
		t.Fatal(err)
	}
	if res.Found {
		t.Fatal("found a node that never answered")
	}
	if _, ok := from.table.Get(bogus); ok {
		t.Fatal("a contact learned from a reply entered the table without answering")
	}
}

func TestLookupEndsWithContext(t *testing.T) { synctest.Test(t, testLookupEndsWithContext) }

func testLookupEndsWithContext(t *testing.T) {
	fn := newFakeNet()
	nodes := fakeNetwork(t, fn, 5, Config{RPCTimeout: time.Hour})
	from := nodes[0]
	for _, n := range nodes[1:] {
		n.tr.down.Store(true) // every query hangs until its context ends
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := from.Lookup(ctx, krpc.RandomNodeID())
		done <- err
	}()
	cancel()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("lookup with a cancelled context returned no error")
		}
	case <-time.After(20 * time.Second):
		t.Fatal("lookup did not end with its context")
	}
	for _, n := range nodes[1:] {
		if c, ok := from.table.Get(n.tr.id); ok && c.Failures != 0 {
			t.Fatalf("a query we cancelled counted as a failure of %x", n.tr.id)
		}
	}
}

func TestLookupOnEmptyTable(t *testing.T) { synctest.Test(t, testLookupOnEmptyTable) }

func testLookupOnEmptyTable(t *testing.T) {
	fn := newFakeNet()
	n := startNode(t, fn, Config{})
	if _, err := n.Lookup(lookupCtx(t), krpc.RandomNodeID()); err != ErrNoContacts {
		t.Fatalf("got %v, want ErrNoContacts", err)
	}
}

// A live contact whose answers are lost MaxFailures times in a row (a
// burst of loss on a real link) answers its verdict and stays, with its
// failures cleared.
func TestLostAnswersDoNotEvictALiveContact(t *testing.T) {
	fn := newFakeNet()
	// No background revalidation: its pings would take the dropped answers.
	nodes := fakeNetwork(t, fn, 10, Config{MaxFailures: 2, RevalidateInterval: time.Hour})
	from, peerNode := nodes[0], nodes[9]
	if _, ok := from.table.Get(peerNode.tr.id); !ok {
		from.table.Responded(peer(peerNode.tr.id, peerNode.tr.addr))
	}
	peerNode.tr.dropOnce(from.tr.addr, 2)
	for i := range 2 {
		if _, _, err := from.Ping(lookupCtx(t), peerNode.contact()); err == nil {
			t.Fatalf("ping %d went through though its answer was dropped", i+1)
		}
		if i == 0 {
			if c, _ := from.table.Get(peerNode.tr.id); c.Failures != 1 {
				t.Fatalf("failures %d after a lost answer, want 1", c.Failures)
			}
		}
	}
	eventually(t, "the verdict to clear the contact's failures", func() bool {
		c, ok := from.table.Get(peerNode.tr.id)
		if !ok {
			t.Fatal("a live contact was evicted after lost answers")
		}
		return c.Failures == 0
	})
	if n := from.Stats().Evictions; n != 0 {
		t.Fatalf("%d evictions, want 0", n)
	}
}

// A lookup's candidates stay sorted by distance to its target, each ID
// once, however often and in whatever order replies repeat them.
func TestLookupCandidatesAreUniqueAndSorted(t *testing.T) {
	n, _ := newNATTestNode(t)
	l := &lookup{n: n, target: krpc.RandomNodeID()}
	r := newRand(7)
	var ids []krpc.ID
	for i := range 200 {
		var id krpc.ID
		for j := range id {
			id[j] = byte(r.Uint32())
		}
		ids = append(ids, id)
		l.add(id, netip.AddrPortFrom(netip.MustParseAddr("198.51.100.1"), uint16(1000+i)), 1)
	}
	for _, i := range r.Perm(len(ids)) {
		l.add(ids[i], netip.AddrPortFrom(netip.MustParseAddr("198.51.100.2"), 9), 2)
	}
	if len(l.cands) != len(ids) {
		t.Fatalf("%d candidates for %d distinct IDs", len(l.cands), len(ids))
	}
	for i, c := range l.cands {
		if c.round != 1 {
			t.Fatalf("candidate %x was replaced by a repeat", c.id)
		}
		if i > 0 && CompareDistance(l.target, l.cands[i-1].id, c.id) >= 0 {
			t.Fatalf("candidates %d and %d out of distance order", i-1, i)
		}
		if l.candidate(c.id) != c {
			t.Fatalf("candidate(%x) does not find it", c.id)
		}
	}
	if l.candidate(krpc.RandomNodeID()) != nil {
		t.Fatal("candidate found for an ID never added")
	}
}
