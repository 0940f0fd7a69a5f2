package node

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/kadnode/kadnode/kad"
)

func TestIsTimeoutWithWireErrors(t *testing.T) {
	addr := netip.MustParseAddrPort("127.0.0.1:7000")
	cases := []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("ping %s: %w", addr, &kad.RPCTimeoutError{Addr: addr, Method: "ping", After: time.Second}), true},
		{fmt.Errorf("ping %s: %w", addr, &kad.HandshakeTimeoutError{Addr: addr, After: time.Second}), true},
		{fmt.Errorf("ping %s: %w", addr, context.DeadlineExceeded), true},
		{fmt.Errorf("ping %s: %w", addr, &kad.IDMismatchError{Addr: addr}), false},
		{&krpc.Error{Code: krpc.ErrorCodeProtocolError, Msg: "bad"}, false},
		{context.Canceled, false},
		{errors.New("something else"), false},
	}
	for _, c := range cases {
		if got := isTimeout(c.err); got != c.want {
			t.Errorf("isTimeout(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

// A node whose link goes down must keep its table however many calls
// fail, and use it again once peers answer.
func TestOfflineNodeKeepsItsTable(t *testing.T) { synctest.Test(t, testOfflineNodeKeepsItsTable) }

func testOfflineNodeKeepsItsTable(t *testing.T) {
	_, n, _ := offlineTestNet(t)
	before := n.table.Len()
	if before == 0 {
		t.Fatal("the node's table is empty after its join")
	}

	n.tr.down.Store(true) // our own link: every call goes unanswered
	ctx := t.Context()
	var wg sync.WaitGroup
	for range 4 { // bounded: 4×15 failed pings, far past what empties the table
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 15 {
				n.revalidateOldest(ctx)
			}
		}()
	}
	eventually(t, "the node to take itself for offline", n.offline.isOffline)
	evicted := n.Stats().Evictions
	wg.Wait()
	if !n.offline.isOffline() {
		t.Fatal("the node left the offline state though nobody answered")
	}
	if got := n.Stats().Evictions; got != evicted {
		t.Errorf("%d evictions while offline, want none", got-evicted)
	}
	if n.table.Len() == 0 {
		t.Fatalf("the table was emptied while offline (had %d contacts)", before)
	}

	n.tr.down.Store(false)
	eventually(t, "a contact to answer again", func() bool {
		n.revalidateOldest(ctx)
		return !n.offline.isOffline()
	})
	res, err := n.Lookup(ctx, krpc.RandomNodeID())
	if err != nil || res.Stats.Responses == 0 {
		t.Fatalf("lookup after the link came back: %d responses, err %v", res.Stats.Responses, err)
	}
}

// A node that took itself for offline and then only calls a dead contact
// (its least-recently-seen, which revalidation picks every time while the
// failures do not count) must find out that its link works again, and
// then evict the dead contact: only a new probe of the link can tell it.
func TestOfflineNodeReprobesItsLink(t *testing.T) { synctest.Test(t, testOfflineNodeReprobesItsLink) }

func testOfflineNodeReprobesItsLink(t *testing.T) {
	fn, n, cfg := offlineTestNet(t)
	dead, ok := n.table.LeastRecentlySeen()
	if !ok {
		t.Fatal("the node's table is empty after its join")
	}
	fn.at(dead.Addr).down.Store(true)

	n.tr.down.Store(true)
	ctx := t.Context()
	for range 2 * OfflineFailureRun { // bounded: past the run that makes the link suspect
		n.revalidateOldest(ctx)
	}
	if !n.Offline() {
		t.Fatal("the node did not take itself for offline though nobody answered")
	}
	if got := n.Stats().OfflineSpells; got != 1 {
		t.Errorf("%d offline spells counted, want 1", got)
	}

	n.tr.down.Store(false)
	// Revalidation keeps picking the dead contact: its failures do not
	// count while the node is offline, so it stays least recently seen.
	// Bounded: OfflineReprobeInterval is passed long before the last ping.
	pings := int(2*OfflineReprobeInterval/(CallDeadlineFactor*cfg.RPCTimeout)) + 2*DefaultMaxFailures
	for i := 0; i < pings && n.Offline(); i++ {
		if c, _ := n.table.LeastRecentlySeen(); c.ID != dead.ID {
			t.Fatalf("revalidation picked %x, not the dead contact %x", c.ID, dead.ID)
		}
		n.revalidateOldest(ctx)
	}
	if n.Offline() {
		t.Fatalf("the node still takes itself for offline after %d failed pings of a dead contact with its link back", pings)
	}
	for i := 0; i < 2*DefaultMaxFailures; i++ {
		if _, ok := n.table.Get(dead.ID); !ok {
			break
		}
		n.revalidateOldest(ctx)
	}
	eventually(t, "the dead contact to be evicted once the node is back online", func() bool {
		_, ok := n.table.Get(dead.ID)
		return !ok
	})
}

// The same, when the contacts that answered last have died too: the probe
// asks the contacts that answered last, so while the node calls only dead
// ones it must ask the live ones before those that were just silent, or
// it stays offline for good (TestChurn's node 83 did, for a minute).
func TestOfflineNodeProbesPastSilentContacts(t *testing.T) {
	synctest.Test(t, testOfflineNodeProbesPastSilentContacts)
}

func testOfflineNodeProbesPastSilentContacts(t *testing.T) {
	fn, n, cfg := offlineTestNet(t)
	cs := n.table.Contacts()
	slices.SortFunc(cs, func(a, b kad.Contact) int { return b.LastResponse.Compare(a.LastResponse) })
	lrs, _ := n.table.LeastRecentlySeen()
	dead := map[krpc.ID]bool{lrs.ID: true}
	for _, c := range cs[:OfflineProbes] {
		dead[c.ID] = true
	}
	live := 0
	for _, c := range cs {
		if dead[c.ID] {
			fn.at(c.Addr).down.Store(true)
		} else {
			live++
		}
	}
	if live == 0 {
		t.Fatalf("no live contact left among %d", len(cs))
	}

	n.tr.down.Store(true)
	ctx := t.Context()
	for range 2 * OfflineFailureRun {
		n.revalidateOldest(ctx)
	}
	if !n.Offline() {
		t.Fatal("the node did not take itself for offline though nobody answered")
	}
	n.tr.down.Store(false)
	pings := int(4*OfflineReprobeInterval/(CallDeadlineFactor*cfg.RPCTimeout)) + 2*DefaultMaxFailures
	for i := 0; i < pings && n.Offline(); i++ {
		if c, _ := n.table.LeastRecentlySeen(); !dead[c.ID] {
			t.Fatalf("revalidation picked %x, a live contact: the test no longer tests anything", c.ID)
		}
		n.revalidateOldest(ctx)
	}
	if n.Offline() {
		t.Fatalf("the node still takes itself for offline after %d failed pings of dead contacts, with %d live ones in its table", pings, live)
	}
}

// offlineTestNet starts six joined nodes on a fake network, with
// revalidation left to the test, and returns the last one and its config.
func offlineTestNet(t *testing.T) (*fakeNet, *testNode, Config) {
	fn := newFakeNet()
	cfg := Config{RPCTimeout: 50 * time.Millisecond, RevalidateInterval: time.Hour}
	nodes := fakeNetwork(t, fn, 6, cfg)
	return fn, nodes[len(nodes)-1], cfg
}

// A node whose table went empty joins again through its seed.
func TestEmptyTableRejoins(t *testing.T) { synctest.Test(t, testEmptyTableRejoins) }

func testEmptyTableRejoins(t *testing.T) {
	fn := newFakeNet()
	nodes := fakeNetwork(t, fn, 4, Config{RevalidateInterval: time.Hour})
	n := nodes[len(nodes)-1]
	for n.table.Len() > 0 {
		for _, c := range n.table.Contacts() {
			n.table.Remove(c.ID)
		}
	}
	eventually(t, "the node to rejoin after its table went empty", func() bool { return n.table.Len() > 0 })
}

// The link probes prefer contacts with no failure and the latest answer,
// but fall back to contacts that failed: when the link dies every contact
// fails in turn, and leaving nobody to probe would let the outage empty
// the table.
func TestRecentRespondersFallBackToFailedContacts(t *testing.T) {
	synctest.Test(t, testRecentRespondersFallBackToFailedContacts)
}

func testRecentRespondersFallBackToFailedContacts(t *testing.T) {
	clock := newManualClock()
	tab := NewTable(testSelf, TableConfig{}, nil, clock, nil, nil)
	defer tab.Close()
	r := newRand(3)
	var ids []krpc.ID
	for i := range 4 {
		id := idInBucket(testSelf, 150+i, r)
		ids = append(ids, id)
		tab.Responded(peer(id, privateAddr(i+1)))
		clock.Advance(time.Second) // ids[3] answered last
	}
	tab.Seen(peer(idInBucket(testSelf, 140, r), privateAddr(9))) // never answered: no probe

	got := tab.recentResponders(ids[0], nil, 3)
	if want := []krpc.ID{ids[3], ids[2], ids[1]}; !sameIDs(got, want) {
		t.Fatalf("probes %v, want %v (latest answer first, the failed call's contact left out)", idsOf(got), want)
	}
	tab.Failed(ids[3])
	tab.Failed(ids[2])
	got = tab.recentResponders(ids[0], nil, 3)
	if want := []krpc.ID{ids[1], ids[3], ids[2]}; !sameIDs(got, want) {
		t.Fatalf("probes %v, want %v (unfailed first, then failed by latest answer)", idsOf(got), want)
	}
	tab.Failed(ids[1])
	if got := tab.recentResponders(ids[0], nil, 3); len(got) != 3 {
		t.Fatalf("%d probes once every responder failed once, want 3", len(got))
	}
	// Peers silent since the last probe come last, even with no failure
	// counted (a node that took itself for offline counts none): otherwise
	// a node calling only dead contacts that answered lately would probe
	// those same dead contacts every time.
	fresh := idInBucket(testSelf, 145, r)
	tab.Responded(peer(fresh, privateAddr(8)))
	silent := map[krpc.ID]struct{}{fresh: {}, ids[1]: {}}
	if got, want := tab.recentResponders(ids[0], silent, 3), []krpc.ID{ids[3], ids[2], fresh}; !sameIDs(got, want) {
		t.Fatalf("probes %v, want %v (the silent ones last, the latest of them first)", idsOf(got), want)
	}
}

func idsOf(cs []kad.Contact) []krpc.ID {
	out := make([]krpc.ID, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

func sameIDs(cs []kad.Contact, want []krpc.ID) bool {
	return slices.Equal(idsOf(cs), want)
}
