package node

import (
	"encoding/binary"
	"slices"
	"sort"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/kadnode/kadnode/kad"
)

// bucket is one k-bucket. Members are kept least recently seen first and
// replacements newest first, with ties broken by ID, so the order is a pure
// function of the persisted fields and Load can rebuild it exactly.
type bucket struct {
	members      []kad.Contact
	replacements []kad.Contact
	pinging      bool // a liveness ping of the head member is in flight
}

// contactOrder compares two contacts. It takes pointers: a contact is
// about 150 bytes, and the table compares on every message it handles.
type contactOrder func(a, b *kad.Contact) int

// seenOrder is the members' order: least recently seen first.
func seenOrder(a, b *kad.Contact) int {
	if c := a.LastSeen.Compare(b.LastSeen); c != 0 {
		return c
	}
	return compareIDs(a.ID, b.ID)
}

// newestOrder is the replacement cache's order: most recently seen first.
func newestOrder(a, b *kad.Contact) int {
	if c := b.LastSeen.Compare(a.LastSeen); c != 0 {
		return c
	}
	return compareIDs(a.ID, b.ID)
}

// find returns the position of id in list, or -1.
func find(list []kad.Contact, id krpc.ID) int {
	// Every message looks its sender up here. Comparing the first 8 bytes
	// as a word rejects nearly every other entry in one load; the array
	// comparison is a call to the runtime's memequal.
	head := binary.LittleEndian.Uint64(id[:8])
	for i := range list {
		if binary.LittleEndian.Uint64(list[i].ID[:8]) == head && list[i].ID == id {
			return i
		}
	}
	return -1
}

// byValue adapts o to the slices package's comparators, which take
// values; for sorting on load and for checks, not per message.
func (o contactOrder) byValue(a, b kad.Contact) int { return o(&a, &b) }

// place is where c goes in the sorted list: the first position whose
// contact does not order before it.
func place(list []kad.Contact, c *kad.Contact, order contactOrder) int {
	return sort.Search(len(list), func(i int) bool { return order(&list[i], c) >= 0 })
}

// insertOrdered adds c to the sorted list at its place. The list holds
// at most limit contacts, and its array grows to no more than that:
// append's doubling would keep a full bucket of 20 in an array of 32,
// and the buckets' arrays are most of a node's heap.
func insertOrdered(list []kad.Contact, c kad.Contact, order contactOrder, limit int) []kad.Contact {
	list = roomForOne(list, limit)
	return slices.Insert(list, place(list, &c, order), c)
}

// roomForOne makes room for one more contact in a list of at most limit.
func roomForOne(list []kad.Contact, limit int) []kad.Contact {
	if len(list) < cap(list) {
		return list
	}
	grown := make([]kad.Contact, len(list), max(min(2*len(list), limit), len(list)+1, minListCap))
	copy(grown, list)
	return grown
}

// reposition restores the order after list[i] changed, moving it with
// one memmove rather than swap by swap. The common case is a refreshed
// member, which goes from wherever it was to the tail.
func reposition(list []kad.Contact, i int, order contactOrder) {
	c, last := list[i], len(list)-1
	switch {
	case i < last && order(&c, &list[last]) > 0:
		copy(list[i:], list[i+1:])
		list[last] = c
	case i < last && order(&c, &list[i+1]) > 0:
		j := place(list[i+1:], &c, order)
		copy(list[i:], list[i+1:i+1+j])
		list[i+j] = c
	case i > 0 && order(&list[i-1], &c) > 0:
		j := place(list[:i], &c, order)
		copy(list[j+1:], list[j:i])
		list[j] = c
	}
}

// sortContacts sorts list by order.
func sortContacts(list []kad.Contact, order contactOrder) { slices.SortFunc(list, order.byValue) }

// lookup finds id among the members and then the replacements.
func (b *bucket) lookup(id krpc.ID) (list *[]kad.Contact, i int) {
	if i := find(b.members, id); i >= 0 {
		return &b.members, i
	}
	if i := find(b.replacements, id); i >= 0 {
		return &b.replacements, i
	}
	return nil, -1
}
