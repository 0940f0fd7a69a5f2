package node

import (
	"errors"

	"github.com/kadnode/kadnode/kad"
)

// checkLiveness starts a ping of b's least-recently-seen member when the
// bucket is full and a replacement is waiting, unless one is in flight:
// a flood of newcomers causes one ping at a time, not one each. A bucket
// whose every member was seen within GoodContactWindow is full of good
// contacts and keeps the newcomer waiting without a ping: otherwise every
// lookup answer from a newcomer would cost a DTLS handshake with a member
// that just proved itself.
func (t *Table) checkLiveness(b *bucket) {
	if t.ping == nil || t.closed || b.pinging || len(b.members) < t.cfg.K || len(b.replacements) == 0 {
		return
	}
	if t.now().Sub(b.members[0].LastSeen) < GoodContactWindow {
		return // members are ordered by last seen: all of them are good
	}
	b.pinging = true
	c := b.members[0]
	t.pings.Add(1)
	go func() {
		defer t.pings.Done()
		err := t.ping(t.ctx, c)
		t.mu.Lock()
		t.pingDone(b, c, err)
		t.mu.Unlock()
		if t.afterPing != nil {
			t.afterPing()
		}
	}()
}

// pingDone applies the outcome of a liveness ping of c: an answer keeps it
// (the paper's bias toward long-lived nodes), silence evicts it in favour
// of the newest replacement.
func (t *Table) pingDone(b *bucket, c kad.Contact, err error) {
	b.pinging = false
	if t.ctx.Err() != nil {
		return // closing: the outcome says nothing about the contact
	}
	j := find(b.members, c.ID)
	if j < 0 || b.members[j].Addr != c.Addr {
		return // removed or moved while the ping was out
	}
	if err == nil {
		t.refresh(b, &b.members, j, c.Addr, t.now(), true)
		return
	}
	if errors.Is(err, errOffline) {
		return // our link is down, not the member: keep it
	}
	t.log.Info("evicted a contact that did not answer a liveness ping", "id", c.ID, "addr", c.Addr, "err", err)
	t.evictions++
	t.removeMember(b, j)
}
