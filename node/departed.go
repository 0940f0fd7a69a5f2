package node

import "github.com/kadnode/kadnode/kad"

// departedMembers remembers the last MaxBootstrapContacts members that
// left the table. A node whose table went empty joins again through them
// (and its seeds): they are the last contacts it held, and remembering
// them as they leave costs one copy per departure, where a snapshot of
// the table taken on every empty-table check cost one per check.
type departedMembers struct {
	ring []kad.Contact // grows to MaxBootstrapContacts, then wraps
	next int           // the oldest entry once ring is full
}

func (d *departedMembers) add(c kad.Contact) {
	if len(d.ring) < MaxBootstrapContacts {
		d.ring = append(d.ring, c)
		return
	}
	d.ring[d.next] = c
	d.next = (d.next + 1) % len(d.ring)
}

// newestFirst returns a copy of the remembered members, newest first.
func (d *departedMembers) newestFirst() []kad.Contact {
	n := len(d.ring)
	out := make([]kad.Contact, n)
	for i := range out {
		out[i] = d.ring[(d.next-1-i+2*n)%n]
	}
	return out
}
