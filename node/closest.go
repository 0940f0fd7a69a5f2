package node

import (
	"encoding/binary"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/kadnode/kadnode/kad"
)

// Closest returns the n members nearest to target by XOR distance, nearest
// first. Replacements are not included.
//
// Each bucket's members lie in one interval of distance from target, and
// the intervals do not overlap, so the buckets can be visited in order of
// distance and the search stops as soon as n are found. With d = self^target
// and b its top bit: bucket b is nearest (its members share bit b with
// target); then the buckets below b, those where d has a 1 from the top down
// and after them those where d has a 0 from the bottom up; then the buckets
// above b in increasing order.
func (t *Table) Closest(target krpc.ID, n int) []kad.Contact {
	t.mu.Lock()
	defer t.mu.Unlock()
	n = min(n, t.members)
	if n <= 0 {
		return nil
	}
	out := make([]kad.Contact, 0, n)
	t.eachClosest(target, n, func(c *kad.Contact) { out = append(out, *c) })
	return out
}

// visitClosest calls f on the n members nearest to target, nearest first,
// without copying them out. It holds the table's lock: f must not call
// the table or keep c.
func (t *Table) visitClosest(target krpc.ID, n int, f func(c *kad.Contact)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.eachClosest(target, min(n, t.members), f)
}

// eachClosest calls f on the n members nearest to target, nearest first,
// in the bucket order Closest describes; t.mu is held and n is at most
// t.members.
func (t *Table) eachClosest(target krpc.ID, n int, f func(c *kad.Contact)) {
	if n <= 0 {
		return
	}
	key := newDistanceKey(target, 0)
	d := Distance(t.self, target)
	top := BucketIndex(t.self, target)
	if top >= 0 {
		if n -= t.eachNearest(top, n, key, f); n <= 0 {
			return
		}
	}
	for i := top - 1; i >= 0; i-- {
		if bitAt(d, i) == 1 {
			if n -= t.eachNearest(i, n, key, f); n <= 0 {
				return
			}
		}
	}
	for i := 0; i < top; i++ {
		if bitAt(d, i) == 0 {
			if n -= t.eachNearest(i, n, key, f); n <= 0 {
				return
			}
		}
	}
	for i := top + 1; i < NumBuckets; i++ {
		if n -= t.eachNearest(i, n, key, f); n <= 0 {
			return
		}
	}
}

// eachNearest calls f on up to n of bucket i's members, nearest to target
// first, and returns how many. It sorts small distance keys instead of
// contacts.
func (t *Table) eachNearest(i, n int, target distanceKey, f func(c *kad.Contact)) int {
	b := t.buckets[i]
	if b == nil || len(b.members) == 0 {
		return 0
	}
	members := b.members
	var buf [2 * DefaultK]distanceKey
	keys := buf[:0]
	for j := range members {
		k := newDistanceKey(members[j].ID, j)
		k.hi, k.mid, k.lo = k.hi^target.hi, k.mid^target.mid, k.lo^target.lo
		keys = append(keys, k)
	}
	// Insertion sort: a bucket holds K (20) at most, where it beats the
	// general sort.
	for a := 1; a < len(keys); a++ {
		for b := a; b > 0 && keys[b].less(keys[b-1]); b-- {
			keys[b], keys[b-1] = keys[b-1], keys[b]
		}
	}
	keys = keys[:min(len(keys), n)]
	for _, k := range keys {
		f(&members[k.index])
	}
	return len(keys)
}

// distanceKey holds an ID, or its XOR distance from a target, as three
// big-endian words, and the contact's position in its bucket.
type distanceKey struct {
	hi, mid uint64
	lo      uint32
	index   int32
}

func newDistanceKey(id krpc.ID, index int) distanceKey {
	return distanceKey{
		hi:    binary.BigEndian.Uint64(id[0:8]),
		mid:   binary.BigEndian.Uint64(id[8:16]),
		lo:    binary.BigEndian.Uint32(id[16:20]),
		index: int32(index),
	}
}

func (a distanceKey) less(b distanceKey) bool {
	if a.hi != b.hi {
		return a.hi < b.hi
	}
	if a.mid != b.mid {
		return a.mid < b.mid
	}
	return a.lo < b.lo
}
