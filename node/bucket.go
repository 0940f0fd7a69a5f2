package node

import (
	"slices"

	"github.com/anacrolix/dht/v2/krpc"

	"github.com/kadnode/kadnode/store"
)

// bucket is one k-bucket. Members are kept least recently seen first and
// replacements newest first, with ties broken by ID, so the order is a pure
// function of the persisted fields and Load can rebuild it exactly.
type bucket struct {
	members      []store.Contact
	replacements []store.Contact
	pinging      bool // a liveness ping of the head member is in flight
}

// seenOrder is the members' order: least recently seen first.
func seenOrder(a, b store.Contact) int {
	if c := a.LastSeen.Compare(b.LastSeen); c != 0 {
		return c
	}
	return compareIDs(a.ID, b.ID)
}

// newestOrder is the replacement cache's order: most recently seen first.
func newestOrder(a, b store.Contact) int {
	if c := b.LastSeen.Compare(a.LastSeen); c != 0 {
		return c
	}
	return compareIDs(a.ID, b.ID)
}

// find returns the position of id in list, or -1.
func find(list []store.Contact, id krpc.ID) int {
	for i := range list {
		if list[i].ID == id {
			return i
		}
	}
	return -1
}

// insertOrdered adds c to the sorted list at its place.
func insertOrdered(list []store.Contact, c store.Contact, order func(a, b store.Contact) int) []store.Contact {
	i, _ := slices.BinarySearchFunc(list, c, order)
	return slices.Insert(list, i, c)
}

// reposition restores the order after list[i] changed. A refreshed member
// usually moves to the tail, so this shifts in place instead of allocating.
func reposition(list []store.Contact, i int, order func(a, b store.Contact) int) {
	for i+1 < len(list) && order(list[i], list[i+1]) > 0 {
		list[i], list[i+1] = list[i+1], list[i]
		i++
	}
	for i > 0 && order(list[i-1], list[i]) > 0 {
		list[i], list[i-1] = list[i-1], list[i]
		i--
	}
}

// lookup finds id among the members and then the replacements.
func (b *bucket) lookup(id krpc.ID) (list *[]store.Contact, i int) {
	if i := find(b.members, id); i >= 0 {
		return &b.members, i
	}
	if i := find(b.replacements, id); i >= 0 {
		return &b.replacements, i
	}
	return nil, -1
}
