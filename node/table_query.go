package node

import (
	"slices"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/kadnode/kadnode/kad"
)

// Read-only views of the routing table, each under Table.mu.

// Get returns the entry for id, member or replacement.
func (t *Table) Get(id krpc.ID) (kad.Contact, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.getLocked(id)
}

func (t *Table) getLocked(id krpc.ID) (kad.Contact, bool) {
	if _, list, j := t.locate(id); list != nil {
		return (*list)[j], true
	}
	return kad.Contact{}, false
}

// Contacts returns every entry: bucket by bucket from the nearest, members
// least recently seen first, then replacements newest first.
func (t *Table) Contacts() []kad.Contact {
	t.mu.Lock()
	defer t.mu.Unlock()
	var cs []kad.Contact
	for _, b := range t.buckets {
		if b != nil {
			cs = append(cs, b.members...)
			cs = append(cs, b.replacements...)
		}
	}
	return cs
}

// departedContacts is a copy of the last members that left the table,
// newest first.
func (t *Table) departedContacts() []kad.Contact {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.departed.newestFirst()
}

// Len is the number of bucket members.
func (t *Table) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.members
}

// BucketSizes returns the member and replacement counts by bucket index.
func (t *Table) BucketSizes() (members, replacements []int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	members, replacements = make([]int, NumBuckets), make([]int, NumBuckets)
	for i, b := range t.buckets {
		if b != nil {
			members[i], replacements[i] = len(b.members), len(b.replacements)
		}
	}
	return members, replacements
}

// LeastRecentlySeen returns the member seen longest ago, the next one to
// revalidate.
func (t *Table) LeastRecentlySeen() (kad.Contact, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var lrs kad.Contact
	found := false
	for _, b := range t.buckets {
		if b == nil {
			continue
		}
		if m := b.members; len(m) > 0 && (!found || seenOrder(&m[0], &lrs) < 0) {
			lrs, found = m[0], true
		}
	}
	return lrs, found
}

// recentResponders returns up to n members other than exclude that have
// answered us: those not in silent (peers whose calls failed since the
// last probe, whether or not the failures were counted) first, then those
// with no failure counted, then by most recent answer: the contacts to
// probe when our own link is suspect. Members that failed are kept as a
// fallback, because a dead link makes every contact
// fail in turn; excluding them would leave nobody to probe and let the
// outage empty the table. It scans the members in place rather than
// copying the table.
func (t *Table) recentResponders(exclude krpc.ID, silent map[krpc.ID]struct{}, n int) []kad.Contact {
	t.mu.Lock()
	defer t.mu.Unlock()
	isSilent := func(c kad.Contact) bool { _, ok := silent[c.ID]; return ok }
	better := func(a, b kad.Contact) bool {
		if isSilent(a) != isSilent(b) {
			return !isSilent(a)
		}
		if (a.Failures == 0) != (b.Failures == 0) {
			return a.Failures == 0
		}
		return a.LastResponse.After(b.LastResponse)
	}
	out := make([]kad.Contact, 0, n+1)
	for _, b := range t.buckets {
		if b == nil {
			continue
		}
		for _, c := range b.members {
			if c.ID == exclude || c.LastResponse.IsZero() {
				continue
			}
			j := len(out)
			for j > 0 && better(c, out[j-1]) {
				j--
			}
			if j < n {
				out = slices.Insert(out, j, c)
				out = out[:min(len(out), n)]
			}
		}
	}
	return out
}

// ClosestNonEmptyBucket is the lowest bucket index that has a member, or
// -1 for an empty table. A join refreshes every bucket above it.
func (t *Table) ClosestNonEmptyBucket() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i, b := range t.buckets {
		if b != nil && len(b.members) > 0 {
			return i
		}
	}
	return -1
}
