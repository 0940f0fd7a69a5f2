package node

import (
	"errors"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/kadnode/kadnode/kad"
	"pgregory.net/rapid"
)

// TestTablePropertiesHoldUnderRandomOperations drives a small table
// (tiny buckets, so that they fill, overflow and evict) through random
// sequences of Seen, Responded, Failed, Remove, clock steps and liveness
// ping outcomes. After every step: Closest equals a brute-force sort, the
// structural invariants hold (no bucket over K, no contact in two places,
// caches bounded and newest first, subnet limits), the store mirrors the
// table, and Load of the table's or the store's contents rebuilds it
// exactly.
func TestTablePropertiesHoldUnderRandomOperations(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		cfg := TableConfig{
			K:                 rapid.IntRange(1, 4).Draw(rt, "k"),
			ReplacementSize:   rapid.IntRange(-1, 3).Draw(rt, "replacementSize"), // -1: no cache
			MaxFailures:       rapid.IntRange(1, 3).Draw(rt, "maxFailures"),
			BucketSubnetLimit: rapid.IntRange(-1, 3).Draw(rt, "bucketSubnetLimit"),
			TableSubnetLimit:  rapid.IntRange(-1, 5).Draw(rt, "tableSubnetLimit"),
			LimitPrivate:      rapid.Bool().Draw(rt, "limitPrivate"),
		}
		var self krpc.ID
		copy(self[:], rapid.SliceOfN(rapid.Byte(), 20, 20).Draw(rt, "self"))
		r := rand.New(rand.NewPCG(rapid.Uint64().Draw(rt, "seed"), 2))
		// Few buckets, so that they fill; the near ones are where XOR
		// order within and across buckets is subtle.
		buckets := []int{159, 158, 157, 100, 3, 1, 0}
		ids := []krpc.ID{self}
		for range 40 {
			ids = append(ids, idInBucket(self, buckets[r.IntN(len(buckets))], r))
		}
		addrs := []netip.AddrPort{
			publicAddr(1, 1), publicAddr(1, 2), publicAddr(1, 3), publicAddr(2, 1), publicAddr(2, 2), publicAddr(3, 1),
			netip.MustParseAddrPort("[2001:db8:0:1::1]:4000"), netip.MustParseAddrPort("[2001:db8:0:1::2]:4000"),
			netip.MustParseAddrPort("[::ffff:198.51.1.4]:4000"),
			privateAddr(1), privateAddr(2), netip.MustParseAddrPort("127.0.0.1:4000"), netip.MustParseAddrPort("[fe80::1]:4000"),
		}
		fs, clock, sp := newFakeStore(), newManualClock(), newScriptedPing(self)
		tab := NewTable(self, cfg, fs, clock, sp.ping, nil)
		defer tab.Close()
		applied := pingHook(tab)
		var pending []pingCall

		seen := func(rt *rapid.T, responded bool) {
			id := rapid.SampledFrom(ids).Draw(rt, "id")
			addr := rapid.SampledFrom(addrs).Draw(rt, "addr")
			before, had := tab.Get(id)
			var res SeenResult
			if responded {
				tab.Responded(peer(id, addr))
				res = resultOf(tab, id, before, had)
			} else {
				res = tab.Seen(peer(id, addr))
			}
			after, has := tab.Get(id)
			switch {
			case id == self:
				if res != Rejected || has {
					rt.Fatalf("self: %v, present %v", res, has)
				}
			case res == Rejected:
				if has != had || (had && !sameContact(before, after)) {
					rt.Fatalf("rejected contact changed: %+v -> %+v", before, after)
				}
			case !has:
				rt.Fatalf("%v but the contact is absent", res)
			case after.Addr != addr || !after.LastSeen.Equal(clock.Now()):
				rt.Fatalf("%v: contact %+v not refreshed at %v", res, after, addr)
			case responded && (!after.LastResponse.Equal(clock.Now()) || after.Failures != 0):
				rt.Fatalf("responded: %+v", after)
			case res == Inserted && (had || after.Place != kad.InBucket),
				res == Refreshed && (!had || after.Place != kad.InBucket),
				res == Replacement && after.Place != kad.InReplacement:
				rt.Fatalf("%v: had %v, now %+v", res, had, after)
			}
		}
		rt.Repeat(map[string]func(*rapid.T){
			"seen":      func(rt *rapid.T) { seen(rt, false) },
			"responded": func(rt *rapid.T) { seen(rt, true) },
			"failed": func(rt *rapid.T) {
				id := rapid.SampledFrom(ids).Draw(rt, "id")
				before, had := tab.Get(id)
				promoted := newestReplacement(tab, id)
				tab.Failed(id)
				after, has := tab.Get(id)
				switch {
				case !had:
					if has {
						rt.Fatal("Failed inserted a contact")
					}
				case before.Failures+1 < cfg.withDefaults().MaxFailures:
					if !has || after.Failures != before.Failures+1 {
						rt.Fatalf("failure not counted: %+v -> %+v", before, after)
					}
				default:
					if has {
						rt.Fatalf("contact kept after %d failures", before.Failures+1)
					}
					checkPromoted(rt, tab, before, promoted)
				}
			},
			"remove": func(rt *rapid.T) {
				id := rapid.SampledFrom(ids).Draw(rt, "id")
				before, had := tab.Get(id)
				promoted := newestReplacement(tab, id)
				tab.Remove(id)
				if _, has := tab.Get(id); has {
					rt.Fatal("Remove left the contact")
				}
				if had {
					checkPromoted(rt, tab, before, promoted)
				}
			},
			"advance": func(rt *rapid.T) {
				// Mostly seconds; sometimes past GoodContactWindow, which
				// lets newcomers at a full bucket start a liveness ping.
				clock.Advance(rapid.SampledFrom([]time.Duration{0, time.Second, 3 * time.Second, GoodContactWindow}).Draw(rt, "advance"))
			},
			"ping": func(rt *rapid.T) {
				for len(pending) < pingsInFlight(tab) {
					call := sp.next(rt)
					for _, p := range pending {
						if BucketIndex(self, p.c.ID) == BucketIndex(self, call.c.ID) {
							rt.Fatalf("two liveness pings in flight for bucket %d", BucketIndex(self, call.c.ID))
						}
					}
					pending = append(pending, call)
				}
				if len(pending) == 0 {
					rt.Skip("no liveness ping in flight")
				}
				i := rapid.IntRange(0, len(pending)-1).Draw(rt, "call")
				call := pending[i]
				pending = slices.Delete(pending, i, i+1)
				alive := rapid.Bool().Draw(rt, "alive")
				before, had := tab.Get(call.c.ID)
				promoted := newestReplacement(tab, call.c.ID)
				var err error
				if !alive {
					err = errors.New("no answer")
				}
				answer(rt, call, err, applied)
				after, has := tab.Get(call.c.ID)
				switch {
				case !had || before.Addr != call.c.Addr || before.Place != kad.InBucket:
					// Removed or moved meanwhile: the outcome is ignored.
					if has != had || (had && !sameContact(before, after)) {
						rt.Fatalf("stale ping outcome changed %+v -> %+v", before, after)
					}
				case alive:
					if !has || !after.LastResponse.Equal(clock.Now()) {
						rt.Fatalf("answered ping did not refresh: %+v", after)
					}
				default:
					if has {
						rt.Fatal("unanswered liveness ping did not evict")
					}
					checkPromoted(rt, tab, before, promoted)
				}
			},
			"": func(rt *rapid.T) {
				if _, _, n := sp.stats(); n > 1 {
					rt.Fatalf("%d liveness pings ran at once for one bucket", n)
				}
				checkTable(rt, tab, fs)
				checkReload(rt, tab, fs)
				members := membersOf(tab.Contacts())
				for range 3 {
					target := rapid.SampledFrom(ids).Draw(rt, "target")
					if rapid.Bool().Draw(rt, "randomTarget") {
						copy(target[:], rapid.SliceOfN(rapid.Byte(), 20, 20).Draw(rt, "target bytes"))
					}
					n := rapid.IntRange(0, 12).Draw(rt, "n")
					if d := diffContacts(tab.Closest(target, n), bruteClosest(members, target, n)); d != "" {
						rt.Fatalf("Closest(%x, %d): %s", target, n, d)
					}
				}
			},
		})
	})
}

// resultOf classifies what Responded did, which has no result of its own.
func resultOf(tab *Table, id krpc.ID, before kad.Contact, had bool) SeenResult {
	after, has := tab.Get(id)
	switch {
	case !has || (had && sameContact(before, after)):
		return Rejected
	case after.Place == kad.InReplacement:
		return Replacement
	case had && before.Place == kad.InBucket:
		return Refreshed
	}
	return Inserted
}

// newestReplacement is the entry that removing member id would promote.
func newestReplacement(tab *Table, id krpc.ID) (c kad.Contact) {
	tab.mu.Lock()
	defer tab.mu.Unlock()
	if i := BucketIndex(tab.self, id); i >= 0 && tab.buckets[i] != nil && len(tab.buckets[i].replacements) > 0 {
		c = tab.buckets[i].replacements[0]
	}
	return c
}

// checkPromoted verifies that the removal of gone promoted promoted (when
// gone was a member and a replacement waited).
func checkPromoted(rt *rapid.T, tab *Table, gone, promoted kad.Contact) {
	rt.Helper()
	if gone.Place != kad.InBucket || promoted.ID == (krpc.ID{}) {
		return
	}
	if c, ok := tab.Get(promoted.ID); !ok || c.Place != kad.InBucket {
		rt.Fatalf("newest replacement %x not promoted: %+v", promoted.ID, c)
	}
}

// pingsInFlight counts buckets with a liveness ping out.
func pingsInFlight(tab *Table) int {
	tab.mu.Lock()
	defer tab.mu.Unlock()
	n := 0
	for _, b := range tab.buckets {
		if b != nil && b.pinging {
			n++
		}
	}
	return n
}
