package node

import (
	"context"
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/kadnode/kadnode/kad"
)

func TestNodeWithoutSeedsIsJoinedAtStart(t *testing.T) {
	synctest.Test(t, testNodeWithoutSeedsIsJoinedAtStart)
}

func testNodeWithoutSeedsIsJoinedAtStart(t *testing.T) {
	n := startNode(t, newFakeNet(), Config{})
	if !n.Self().Joined {
		t.Fatal("a node with no seeds and an empty table is not joined at start")
	}
}

func TestJoinThroughSeedWithoutID(t *testing.T) { synctest.Test(t, testJoinThroughSeedWithoutID) }

func testJoinThroughSeedWithoutID(t *testing.T) {
	fn := newFakeNet()
	s := startNode(t, fn, Config{})
	seed := kad.Endpoint{Host: "127.0.0.1", Port: s.tr.addr.Port()} // host:port only
	a := startNode(t, fn, Config{Seeds: []kad.Endpoint{seed}})
	waitJoined(t, a)
	if _, ok := a.table.Get(s.tr.id); !ok {
		t.Fatal("joiner did not insert the seed that answered")
	}
}

func TestJoinRetriesUntilSeedAnswers(t *testing.T) { synctest.Test(t, testJoinRetriesUntilSeedAnswers) }

func testJoinRetriesUntilSeedAnswers(t *testing.T) {
	fn := newFakeNet()
	id, addr := krpc.RandomNodeID(), netip.MustParseAddrPort("127.0.0.1:999")
	seed := kad.Endpoint{ID: id, HasID: true, Host: "127.0.0.1", Port: addr.Port()}
	var logs logBuffer
	a := startNode(t, fn, Config{Seeds: []kad.Endpoint{seed}, Logger: logs.logger(), RPCTimeout: 20 * time.Millisecond})
	eventually(t, "a logged join failure", func() bool { return logs.lines("join failed; retrying") > 0 })
	if a.Self().Joined {
		t.Fatal("joined while the seed is absent")
	}
	// The seed comes up late, at the address the joiner was given.
	s := startNodeOn(t, fn.attach(id, addr), newFakeStore(), Config{})
	waitJoined(t, a)
	eventually(t, "the seed to insert the joiner", func() bool {
		_, ok := s.table.Get(a.tr.id)
		return ok
	})
}

func TestCloseStopsJoinRetries(t *testing.T) { synctest.Test(t, testCloseStopsJoinRetries) }

func testCloseStopsJoinRetries(t *testing.T) {
	fn := newFakeNet()
	seed := kad.Endpoint{ID: krpc.RandomNodeID(), HasID: true, Host: "127.0.0.1", Port: 998}
	n, err := New(Config{Seeds: []kad.Endpoint{seed}, RPCTimeout: time.Hour}, fn.endpoint(), nil)
	if err != nil {
		t.Fatal(err)
	}
	n.Start()
	done := make(chan struct{})
	go func() {
		n.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("Close did not stop a join waiting on a silent seed")
	}
	if err := n.WaitJoined(lookupCtx(t)); err != ErrClosed {
		t.Fatalf("WaitJoined after Close: %v, want ErrClosed", err)
	}
}

func TestJoinedNodeIsFoundByOthers(t *testing.T) { synctest.Test(t, testJoinedNodeIsFoundByOthers) }

func testJoinedNodeIsFoundByOthers(t *testing.T) {
	fn := newFakeNet()
	nodes := fakeNetwork(t, fn, 20, Config{})
	late := startNode(t, fn, Config{Seeds: []kad.Endpoint{nodes[3].contact()}})
	waitJoined(t, late)
	for _, n := range nodes {
		res, err := n.Lookup(lookupCtx(t), late.tr.id)
		if err != nil {
			t.Fatal(err)
		}
		if !res.Found || res.Addr != late.tr.addr {
			t.Fatalf("%x did not find the new node: %+v", n.tr.id, res)
		}
	}
}

// TestWaitJoinDoneWaitsForTheRefreshes: WaitJoined returns after the
// lookup of our own ID, WaitJoinDone only once the join's bucket refreshes
// are done too and their scope, which keeps no session, has ended.
func TestWaitJoinDoneWaitsForTheRefreshes(t *testing.T) {
	synctest.Test(t, testWaitJoinDoneWaitsForTheRefreshes)
}

func testWaitJoinDoneWaitsForTheRefreshes(t *testing.T) {
	fn := newFakeNet()
	fn.latency = 10 * time.Millisecond
	nodes := fakeNetwork(t, fn, 30, Config{})
	late := startNode(t, fn, Config{Seeds: []kad.Endpoint{nodes[7].contact()}})
	waitJoined(t, late)
	if err := late.WaitJoinDone(lookupCtx(t)); err != nil {
		t.Fatal(err)
	}
	if late.tr.scopesKeepingNone() == 0 {
		t.Fatal("the join sent no find_node under a scope keeping no session")
	}
	late.tr.noneScopes.Range(func(scope, _ any) bool {
		if scope.(context.Context).Err() == nil {
			t.Error("WaitJoinDone returned while the join's scope was still open")
		}
		return true
	})
	if got := nodes[0].WaitJoinDone(lookupCtx(t)); got != nil {
		t.Fatalf("WaitJoinDone of the first node, joined at start: %v", got)
	}
}

func TestRestartRejoinsThroughStoredContactsAndRevalidates(t *testing.T) {
	synctest.Test(t, testRestartRejoinsThroughStoredContactsAndRevalidates)
}

func testRestartRejoinsThroughStoredContactsAndRevalidates(t *testing.T) {
	fn := newFakeNet()
	nodes := fakeNetwork(t, fn, 12, Config{})
	a := nodes[5]
	eventually(t, "a's table to fill", func() bool { return a.table.Len() >= 5 })
	// One stored contact has left the network for good.
	gone := a.table.Contacts()[0]
	fn.at(gone.Addr).down.Store(true)
	a.Close()

	tr := fn.attach(a.tr.id, a.tr.addr)
	b := startNodeOn(t, tr, a.st, Config{MaxFailures: 1}) // no seeds
	if b.Self().Joined {
		t.Fatal("a restarted node counts as joined before it rejoined")
	}
	waitJoined(t, b)
	eventually(t, "the departed contact to be dropped", func() bool {
		_, ok := b.table.Get(gone.ID)
		return !ok
	})
	for _, n := range nodes {
		if n == a || n.tr.addr == gone.Addr {
			continue
		}
		res, err := n.Lookup(lookupCtx(t), b.tr.id)
		if err != nil || !res.Found {
			t.Fatalf("restarted node not found by %x: %+v, %v", n.tr.id, res, err)
		}
	}
}

func TestRestartWithOnlyDeadContactsServesAsFirstNode(t *testing.T) {
	synctest.Test(t, testRestartWithOnlyDeadContactsServesAsFirstNode)
}

func testRestartWithOnlyDeadContactsServesAsFirstNode(t *testing.T) {
	fn := newFakeNet()
	st := newFakeStore()
	n0 := startNodeOn(t, fn.endpoint(), st, Config{})
	dead := fn.endpoint()
	n0.table.Responded(peer(dead.id, dead.addr)) // never served: calls to it time out
	n0.Close()

	var logs logBuffer
	n := startNodeOn(t, fn.attach(n0.tr.id, n0.tr.addr), st, Config{Logger: logs.logger(), RPCTimeout: 20 * time.Millisecond})
	waitJoined(t, n)
	if logs.lines("serving as the first node") == 0 {
		t.Fatal("no log line saying why the node serves alone")
	}
}

func TestPingFeedsTableOnlyForKnownContacts(t *testing.T) {
	synctest.Test(t, testPingFeedsTableOnlyForKnownContacts)
}

func testPingFeedsTableOnlyForKnownContacts(t *testing.T) {
	fn := newFakeNet()
	nodes := fakeNetwork(t, fn, 3, Config{RPCTimeout: 20 * time.Millisecond})
	n, known := nodes[2], nodes[1]
	stranger := startNode(t, fn, Config{})
	if _, _, err := n.Ping(lookupCtx(t), stranger.contact()); err != nil {
		t.Fatal(err)
	}
	if _, ok := n.table.Get(stranger.tr.id); ok {
		t.Fatal("Ping inserted a contact that was not in the table (that is Add's job)")
	}
	if _, err := n.Add(lookupCtx(t), stranger.contact()); err != nil {
		t.Fatal(err)
	}
	if _, ok := n.table.Get(stranger.tr.id); !ok {
		t.Fatal("Add did not insert the contact that answered")
	}
	known.tr.down.Store(true)
	if _, _, err := n.Ping(lookupCtx(t), known.contact()); err == nil {
		t.Fatal("ping of a down node succeeded")
	}
	if c, ok := n.table.Get(known.tr.id); !ok || c.Failures == 0 {
		t.Fatalf("failed ping of a known contact not counted: %+v, %v", c, ok)
	}
}

func TestRestartWithStaleTableJoinsThroughSeedsAtOnce(t *testing.T) {
	synctest.Test(t, testRestartWithStaleTableJoinsThroughSeedsAtOnce)
}

func testRestartWithStaleTableJoinsThroughSeedsAtOnce(t *testing.T) {
	fn := newFakeNet()
	s := startNode(t, fn, Config{})
	st := newFakeStore()
	n0 := startNodeOn(t, fn.endpoint(), st, Config{})
	gone := fn.endpoint() // never serves
	n0.table.Responded(peer(gone.id, gone.addr))
	n0.Close()

	var logs logBuffer
	n := startNodeOn(t, fn.attach(n0.tr.id, n0.tr.addr), st, Config{
		Seeds: []kad.Endpoint{s.contact()}, Logger: logs.logger(), RPCTimeout: 20 * time.Millisecond,
	})
	waitJoined(t, n)
	if got := logs.lines("join failed"); got != 0 {
		t.Fatalf("%d failed join attempts with a live seed configured, want 0", got)
	}
	if _, ok := s.table.Get(n.tr.id); !ok {
		t.Fatal("the seed did not insert the restarted node")
	}
}
