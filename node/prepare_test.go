package node

import (
	"testing"
	"testing/synctest"
	"time"
)

// A lookup prepares the candidates it will query next, each once, under
// its transient scope and with the ID it expects, and queries some of
// them after that; with PrepareAhead negative it prepares none.
func TestLookupPreparesItsNextCandidates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for _, ahead := range []int{0, -1} {
			fn := newFakeNet()
			fn.rtt = 20 * time.Millisecond // a path whose round trips cost more than a handshake's CPU
			nodes := fakeNetwork(t, fn, 60, Config{K: 8, PrepareAhead: ahead})
			from := nodes[len(nodes)-1]
			time.Sleep(time.Minute) // the joins' bucket refreshes are over: only our lookups prepare
			synctest.Wait()
			r := newRand(11)
			var prepared, usedLater int
			for i := range 20 {
				p, u, repeated, untagged := preparedByLookup(t, from, r)
				if repeated != 0 || untagged != 0 {
					t.Fatalf("lookup %d: %d candidates prepared twice, %d prepared outside the lookup's scope or without an ID", i, repeated, untagged)
				}
				prepared += p
				usedLater += u
			}
			switch {
			case ahead < 0 && prepared != 0:
				t.Fatalf("PrepareAhead %d: %d candidates prepared", ahead, prepared)
			case ahead == 0 && (prepared == 0 || usedLater == 0):
				t.Fatalf("default PrepareAhead: %d candidates prepared, %d of them queried afterwards", prepared, usedLater)
			}
			t.Logf("PrepareAhead %d: %d prepared in 20 lookups, %d then queried", ahead, prepared, usedLater)
		}
	})
}

// Where round trips cost less than a handshake's CPU (here the fake
// network answers at once, as loopback nearly does), lookups prepare
// nothing, whatever PrepareAhead says.
func TestLookupPreparesNothingOnAFastPath(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fn := newFakeNet()
		fn.rtt = PrepareMinRTT / 4
		nodes := fakeNetwork(t, fn, 40, Config{K: 8, PrepareAhead: 3})
		from := nodes[len(nodes)-1]
		time.Sleep(time.Minute)
		synctest.Wait()
		if floor, ok := from.rtt.floor(); !ok || floor >= PrepareMinRTT {
			t.Fatalf("round-trip floor %v (known %v): want one below %v", floor, ok, PrepareMinRTT)
		}
		r := newRand(12)
		for range 10 {
			if p, _, _, _ := preparedByLookup(t, from, r); p != 0 {
				t.Fatalf("%d candidates prepared on a path of %v round trips", p, fn.rtt)
			}
		}
	})
}
