package node

import (
	"testing"
	"testing/synctest"

	"github.com/anacrolix/dht/v2/krpc"
)

// A lookup prepares the candidates it will query next, each once, under
// its transient scope and with the ID it expects, and queries some of
// them after that; with PrepareAhead negative it prepares none.
func TestLookupPreparesItsNextCandidates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for _, ahead := range []int{0, -1} {
			fn := newFakeNet()
			nodes := fakeNetwork(t, fn, 60, Config{K: 8, PrepareAhead: ahead})
			from := nodes[len(nodes)-1]
			synctest.Wait() // the joins' bucket refreshes are over: only our lookups prepare
			r := newRand(11)
			var prepared, usedLater int
			for i := range 20 {
				var target krpc.ID
				for j := range target {
					target[j] = byte(r.Uint32())
				}
				from.tr.prep.reset()
				if _, err := from.Lookup(lookupCtx(t), target); err != nil {
					t.Fatal(err)
				}
				p, u, repeated, untagged := from.tr.prep.counts()
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
