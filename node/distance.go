package node

import (
	"bytes"
	"math/bits"
	"math/rand/v2"

	"github.com/anacrolix/dht/v2/krpc"
)

// Distance is the Kademlia XOR metric.
func Distance(a, b krpc.ID) krpc.ID {
	var d krpc.ID
	for i := range d {
		d[i] = a[i] ^ b[i]
	}
	return d
}

// BucketIndex is the index of the bucket id belongs in for a table owned by
// self: 159 minus the number of leading bits the two IDs share, so bucket 159
// holds the half of the ID space farthest from self. It is -1 for id == self.
func BucketIndex(self, id krpc.ID) int {
	for i := range self {
		if x := self[i] ^ id[i]; x != 0 {
			return NumBuckets - 1 - (i*8 + bits.LeadingZeros8(x))
		}
	}
	return -1
}

// CompareDistance returns -1 if a is closer to target than b, +1 if b is
// closer, and 0 if a == b.
func CompareDistance(target, a, b krpc.ID) int {
	for i := range target {
		da, db := a[i]^target[i], b[i]^target[i]
		if da != db {
			if da < db {
				return -1
			}
			return 1
		}
	}
	return 0
}

// compareIDs orders IDs as big-endian numbers; the table uses it to break
// ties so that its order is a function of what the store keeps.
func compareIDs(a, b krpc.ID) int { return bytes.Compare(a[:], b[:]) }

// bitAt returns bit i of id, where bit 159 is the most significant.
func bitAt(id krpc.ID, i int) byte {
	pos := NumBuckets - 1 - i
	return id[pos/8] >> (7 - pos%8) & 1
}

// RandomIDInBucket returns a random ID that falls in the given bucket of a
// table owned by self, as the target of a bucket refresh: the bits above
// the bucket's bit are self's, that bit is flipped, and the rest are random.
// A nil r uses the global source. A bucket outside [0, NumBuckets) gives
// self back.
func RandomIDInBucket(self krpc.ID, bucket int, r *rand.Rand) krpc.ID {
	if bucket < 0 || bucket >= NumBuckets {
		return self
	}
	randomByte := func() byte {
		if r == nil {
			return byte(rand.Uint32())
		}
		return byte(r.Uint32())
	}
	id := self
	pos := NumBuckets - 1 - bucket
	at, mask := pos/8, byte(0x80)>>(pos%8)
	low := mask - 1 // the bits of the byte below the flipped one
	id[at] = (id[at]^mask)&^low | randomByte()&low
	for i := at + 1; i < len(id); i++ {
		id[i] = randomByte()
	}
	return id
}
