package wire

import (
	"context"
	"net/netip"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/kadnode/kadnode/kad"
)

// Prepare starts a handshake with addr when there is neither a session nor
// a handshake with it, and returns at once; a Call to addr soon after
// joins the handshake or finds the session ready. A lookup uses it for the
// candidates it will query next: a first contact costs the cookie
// exchange and the handshake's round trips (two for a full one, one for
// a resumed one) before the query's own, and those can run while the
// current queries are out.
//
// It is only a hint. It does nothing where round trips are cheaper than
// a handshake's CPU: until a query has been answered, and while the
// smallest recent query round trip is below PrepareMinRTT (loopback, a
// LAN). It does nothing when the transport is closed or busy: while half
// of MaxPendingHandshakes are in progress, or when a new session would
// need another one closed (a prepared handshake never displaces a
// session). With expect set the peer must prove that ID, as
// in a Call. Under a transient ctx (kad.Transient) the session is a
// transient one: when the scope ends it closes (once its handshake is
// over, if it still runs) unless a call used it without the mark or keep
// names its peer.
func (t *Transport) Prepare(ctx context.Context, addr netip.AddrPort, expect *krpc.ID) {
	addr = kad.UnmapAddrPort(addr)
	if !addr.IsValid() || addr.Port() == 0 || !t.preparePays() {
		return
	}
	t.mu.Lock()
	if t.closed || t.peers[addr] != nil || 2*t.pending >= t.cfg.MaxPendingHandshakes || t.live+t.pending >= t.cfg.MaxSessions {
		t.mu.Unlock()
		return
	}
	s := t.dial(ctx, nil, addr, expect)
	s.prepared.Store(true)
	t.mu.Unlock()
	t.stats.prepared.Add(1)
}

// preparePays reports whether the paths' round trips, not the handshake's
// CPU, dominate a first contact.
func (t *Transport) preparePays() bool {
	if t.cfg.PrepareMinRTT < 0 {
		return true
	}
	floor, ok := t.floor.get()
	return ok && floor >= t.cfg.PrepareMinRTT
}

// notePrepared counts the first call over a session that Prepare opened.
func (t *Transport) notePrepared(s *session) {
	if s.prepared.Load() && s.prepared.CompareAndSwap(true, false) {
		t.stats.preparedUsed.Add(1)
	}
}
