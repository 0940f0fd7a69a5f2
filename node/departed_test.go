package node

import (
	"testing"
	"testing/synctest"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/kadnode/kadnode/kad"
)

// The table remembers the last MaxBootstrapContacts members to leave,
// newest first.
func TestDepartedMembersAreTheLastToLeave(t *testing.T) {
	tab := NewTable(testSelf, TableConfig{}, nil, newManualClock(), nil, nil)
	defer tab.Close()
	r := newRand(5)
	var left []krpc.ID
	for i := range MaxBootstrapContacts + 7 {
		id := idInBucket(testSelf, 100+i%50, r)
		tab.Seen(peer(id, privateAddr(i+1)))
		tab.Remove(id)
		left = append(left, id)
	}
	got := tab.departedContacts()
	if len(got) != MaxBootstrapContacts {
		t.Fatalf("%d departed members remembered, want the last %d", len(got), MaxBootstrapContacts)
	}
	for i, c := range got {
		if want := left[len(left)-1-i]; c.ID != want {
			t.Fatalf("departed[%d] is %x, want %x (newest first)", i, c.ID, want)
		}
	}
}

// A node with no seeds and nothing from a store, whose table went empty,
// joins again through the members its table last held.
func TestEmptyTableRejoinsThroughDepartedMembers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fn := newFakeNet()
		first := startNode(t, fn, Config{RevalidateInterval: 1 << 62})
		waitJoined(t, first)
		for range 3 {
			n := startNode(t, fn, Config{Seeds: []kad.Endpoint{first.contact()}, RevalidateInterval: 1 << 62})
			waitJoined(t, n)
		}
		synctest.Wait() // the joins' refresh lookups are over: nobody calls first now
		if got := first.table.Len(); got != 3 {
			t.Fatalf("the seedless node holds %d contacts after the others joined, want 3", got)
		}
		for _, c := range first.table.Contacts() {
			first.table.Remove(c.ID)
		}
		pings := first.tr.pings.Load()
		eventually(t, "the seedless node to rejoin through its departed members", func() bool { return first.table.Len() > 0 })
		if first.tr.pings.Load() == pings {
			t.Fatal("the table filled again without a ping from the node: something else than a rejoin refilled it")
		}
	})
}
