package node

import (
	"net/netip"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/kadnode/kadnode/kad"
)

// Load replaces the table's contents with cs, typically everything the
// store held at start. It is meant to be called once, before use.
//
// Contacts are re-bucketed for the table's own ID, so a store written
// under another ID (the key was replaced) just works. Within a bucket the
// most recently seen members are kept, up to K; overflowing members join
// the bucket's replacement candidates, the newest of which fill any free
// member slots and then the cache, up to ReplacementSize. Contacts that
// cannot be kept — self, an unusable address, a duplicate ID, over a
// subnet limit, or beyond the cache — are dropped and deleted from the
// store, and every contact whose place changed is written back, so the
// store matches the table afterwards. Loading the Contacts of a table
// rebuilds that table exactly, and writes nothing.
func (t *Table) Load(cs []kad.Contact) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, b := range t.buckets {
		if b != nil {
			*b = bucket{pinging: b.pinging} // a ping in flight holds b
		}
	}
	t.members = 0
	t.subnets = make(map[netip.Prefix]int)

	var members, candidates [NumBuckets][]kad.Contact
	ids := make(map[krpc.ID]bool, len(cs))
	dropped := 0
	for _, c := range cs {
		i := BucketIndex(t.self, c.ID)
		if ids[c.ID] {
			dropped++ // the one kept has this ID: deleting it would lose it
			continue
		}
		ids[c.ID] = true
		if i < 0 || !usableAddr(c.Addr) {
			t.drop(c, &dropped)
			continue
		}
		if c.Place == kad.InReplacement {
			candidates[i] = append(candidates[i], c)
		} else {
			members[i] = append(members[i], c)
		}
	}
	// Members first, across all buckets, so that the table-wide subnet
	// limit favours them over replacements.
	for i := range members {
		if len(members[i]) == 0 {
			continue
		}
		b := t.bucketAt(i)
		b.members = make([]kad.Contact, 0, min(len(members[i]), t.cfg.K))
		sortContacts(members[i], newestOrder)
		for _, c := range members[i] {
			switch {
			case len(b.members) == t.cfg.K:
				candidates[i] = append(candidates[i], c)
			case t.subnetAllows(b, c.Addr.Addr()):
				t.loadMember(b, c)
			default:
				t.drop(c, &dropped)
			}
		}
		sortContacts(b.members, seenOrder)
	}
	for i := range candidates {
		if len(candidates[i]) == 0 {
			continue
		}
		b := t.bucketAt(i)
		sortContacts(candidates[i], newestOrder)
		for _, c := range candidates[i] {
			switch {
			case !t.subnetAllows(b, c.Addr.Addr()):
				t.drop(c, &dropped)
			case len(b.members) < t.cfg.K:
				t.loadMember(b, c)
			case len(b.replacements) < t.cfg.ReplacementSize:
				t.addSubnet(c.Addr.Addr())
				placed := c.Place == kad.InReplacement
				c.Place = kad.InReplacement
				b.replacements = append(roomForOne(b.replacements, t.cfg.ReplacementSize), c) // already newest first
				if !placed {
					t.put(c)
				}
			default:
				t.drop(c, &dropped)
			}
		}
		sortContacts(b.members, seenOrder)
	}
	if dropped > 0 {
		t.log.Info("routing table: contacts dropped on load", "dropped", dropped, "kept", t.members)
	}
}

// loadMember appends c to b's members; the caller sorts them.
func (t *Table) loadMember(b *bucket, c kad.Contact) {
	t.addSubnet(c.Addr.Addr())
	t.members++
	placed := c.Place == kad.InBucket
	c.Place = kad.InBucket
	b.members = append(roomForOne(b.members, t.cfg.K), c)
	if !placed {
		t.put(c)
	}
}

func (t *Table) drop(c kad.Contact, dropped *int) {
	*dropped++
	t.del(c.ID)
}
