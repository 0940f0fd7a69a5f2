package node

import (
	"errors"
	"testing"
	"time"

	"github.com/anacrolix/dht/v2/krpc"

	"github.com/kadnode/kadnode/store"
)

const testNetwork = "kadnode-test"

func openStore(tb testing.TB, dir string, self krpc.ID) *store.Store {
	tb.Helper()
	st, err := store.Open(dir, store.Options{Network: testNetwork, SelfID: self})
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	return st
}

// reopen closes tab and st, opens the store in dir again as self, and
// loads a fresh table from it.
func reopen(t *testing.T, tab *Table, st *store.Store, dir string, self krpc.ID) (*Table, *store.Store) {
	t.Helper()
	tab.Close()
	if err := st.Close(); err != nil {
		t.Fatalf("close store: %v", err)
	}
	st = openStore(t, dir, self)
	cs, err := st.Load()
	if err != nil {
		t.Fatalf("load store: %v", err)
	}
	tab = NewTable(self, TableConfig{}, st, newManualClock(), nil, nil)
	tab.Load(cs)
	return tab, st
}

// TestTableIsIdenticalAfterCloseAndOpenWithPebble runs a workload with
// every kind of change against a Pebble store, closes both, and checks
// that the table loaded from the reopened store is the same: contacts,
// order and replacement caches. Then the key is replaced: the table is
// re-bucketed for the new ID, and that table survives a restart as well.
func TestTableIsIdenticalAfterCloseAndOpenWithPebble(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, dir, testSelf)
	clock, sp := newManualClock(), newScriptedPing(testSelf)
	tab := NewTable(testSelf, TableConfig{}, st, clock, sp.ping, nil)
	applied := pingHook(tab)
	r := newRand(20)
	var ids []krpc.ID
	for i := range 900 {
		id := idInBucket(testSelf, 159-i%12, r)
		ids = append(ids, id)
		tab.Seen(peer(id, privateAddr(i)))
		if i%7 == 0 {
			clock.Advance(time.Second) // ties as well as distinct times
		}
		if i == 600 {
			// The members are no longer good: newcomers from here on
			// make full buckets ping.
			clock.Advance(GoodContactWindow)
		}
	}
	// Full buckets have a ping out; answer some and let others fail.
	for i := range pingsInFlight(tab) {
		var err error
		if i%2 == 0 {
			err = errors.New("no answer")
		}
		answer(t, sp.next(t), err, applied)
	}
	for i, id := range ids[:300] {
		switch i % 5 {
		case 0:
			tab.Responded(peer(id, privateAddr(5000+i))) // new address
		case 1:
			tab.Failed(id)
		case 2:
			tab.Remove(id)
		default:
			tab.Seen(peer(id, privateAddr(i))) // touch, or a rejected move back
		}
		clock.Advance(time.Millisecond)
	}
	if tab.Evictions() == 0 {
		t.Fatal("the workload evicted nobody")
	}
	want := tab.Contacts()
	if _, repl := tab.BucketSizes(); repl[159] == 0 {
		t.Fatal("the workload left no replacements to compare")
	}

	tab, st = reopen(t, tab, st, dir, testSelf)
	if d := diffContacts(tab.Contacts(), want); d != "" {
		t.Fatalf("after close and open the table differs: %s", d)
	}
	tab.Flush()
	if s := st.Stats(); s.Puts+s.Deletes+s.Touches != 0 {
		t.Fatalf("loading an unchanged table wrote to the store: %+v", s)
	}

	// The key is replaced: the store reports it, and the table re-buckets.
	newSelf := idInBucket(testSelf, 157, r)
	tab.Close()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st = openStore(t, dir, newSelf)
	if old, changed := st.SelfChanged(); !changed || old != testSelf {
		t.Fatalf("SelfChanged = %x, %v; want the old ID", old, changed)
	}
	cs, err := st.Load()
	if err != nil {
		t.Fatal(err)
	}
	tab = NewTable(newSelf, TableConfig{}, st, newManualClock(), nil, nil)
	tab.Load(cs)
	checkTable(t, tab, nil)
	rebucketed := tab.Contacts()
	if len(rebucketed) == 0 {
		t.Fatal("re-bucketing kept nothing")
	}
	tab, st = reopen(t, tab, st, dir, newSelf)
	if d := diffContacts(tab.Contacts(), rebucketed); d != "" {
		t.Fatalf("the re-bucketed table did not survive a restart: %s", d)
	}
	tab.Close()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
}
