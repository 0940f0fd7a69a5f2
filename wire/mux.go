package wire

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/kadnode/kadnode/kad"
)

// readLoop is the only reader of the socket. It routes each datagram to
// the session of its source address and never blocks on one. It also
// reaps idle sessions: the socket's read deadline wakes it every reap
// interval, so the reaper needs no goroutine of its own.
func (t *Transport) readLoop() {
	defer t.wg.Done()
	buf := make([]byte, socketReadBufferSize)
	oob := make([]byte, overflowOOBSize)
	var overflow overflowCount
	reapEvery := reapInterval(min(t.cfg.IdleTimeout, t.cfg.TransientIdleTimeout))
	_ = t.sock.SetReadDeadline(time.Now().Add(reapEvery))
	for {
		n, oobn, _, from, err := t.sock.ReadMsgUDPAddrPort(buf, oob)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if errors.Is(err, os.ErrDeadlineExceeded) {
				t.reapIdle()
				_ = t.sock.SetReadDeadline(time.Now().Add(reapEvery))
				continue
			}
			select {
			case <-t.done:
				return
			default:
				continue // e.g. an ICMP error surfaced by the kernel
			}
		}
		if oobn > 0 {
			if d := overflow.update(oob[:oobn]); d > 0 {
				t.stats.dropN(dropKernelOverflow, d)
			}
		}
		if g := t.routeGate.Load(); g != nil {
			select { // tests hold datagrams here to force simultaneous opens
			case <-*g:
			case <-t.done:
			}
		}
		t.route(kad.UnmapAddrPort(from), buf[:n])
	}
}

// route hands one datagram to the right session, or drops and counts it.
func (t *Transport) route(from netip.AddrPort, b []byte) {
	if len(b) > maxDatagramSize {
		t.stats.drop(dropOversize)
		return
	}
	d := Classify(b)
	switch d.Kind {
	case KindGarbage:
		t.stats.drop(dropGarbage)
		return
	case KindPlaintext:
		t.stats.drop(dropPlaintext)
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return
	}
	sl := t.peers[from]
	if d.Kind == KindClientHello {
		t.routeHello(from, sl, b, &d)
		return
	}
	if sl == nil {
		t.stats.drop(dropNoSession)
		return
	}
	s := t.target(sl, &d, b)
	if s == nil {
		return
	}
	if s == sl.est && d.Epoch == 0 {
		switch {
		case !finalFlightResent(s, b):
			// An established session takes only encrypted records; pion
			// would act on a plaintext alert that anyone could forge.
			t.stats.drop(dropUnexpected)
			return
		case s.client:
			s.resendLastFlight()
			return
		}
	}
	if !s.vc.deliver(b) {
		t.stats.drop(dropQueueFull)
	}
	if s.peerCCS && len(s.beforeCCS) > 0 {
		s.deliverHeld(&s.beforeCCS) // after the datagram with the CCS
	}
}

// routeHello handles a ClientHello: the retransmission or cookie echo of a
// handshake in progress, a simultaneous open, a restarted peer, or a new
// peer. Called with t.mu held.
func (t *Transport) routeHello(from netip.AddrPort, sl *peerSlot, b []byte, d *Datagram) {
	// pion must see the hello its peer's pion wrote (cookie.go).
	b, cookie := splitHelloCookie(b)
	var replace *session // a handshake the new server takes over from
	why := hsReplaced
	if sl != nil {
		if hs := sl.hs; hs != nil {
			switch {
			case hs.hasRandom && hs.random == d.Random:
				if !hs.client && !hs.vc.deliver(b) {
					t.stats.drop(dropQueueFull)
				}
				return
			case hs.client && hs.hasRandom && bytes.Compare(hs.random[:], d.Random[:]) < 0:
				// Both dialled; our random is lower, so we stay client and
				// the peer turns its side into a server on seeing ours.
				sl.lostRandom = d.Random
				t.stats.drop(dropStaleHello)
				return
			case hs.client:
				// Our random is higher (or our ClientHello is not out yet):
				// our dial yields and a server answers the peer's.
				why = hsSimultaneous
			}
			replace = hs
		}
		if est := sl.est; replace == nil && est != nil && !est.client && est.random == d.Random {
			// A late copy of the ClientHello that opened est.
			t.stats.drop(dropStaleHello)
			return
		}
		if sl.lostRandom == d.Random {
			t.stats.drop(dropStaleHello)
			return
		}
	}
	h, ok := readHello(b)
	if ok && len(h.protos) == 0 {
		// pion's server would accept a peer that offers no ALPN at all,
		// that is, one that names no network.
		t.stats.handshake(hsNetworkMismatch)
		return
	}
	if why != hsSimultaneous && (!t.admitCookie(from, b, cookie, h.sessionID) || !t.admitInbound(from, sl)) {
		return
	}
	if sl == nil {
		sl = &peerSlot{}
		t.peers[from] = sl
	}
	s := t.newSession(from, false, nil, b)
	s.random, s.hasRandom = d.Random, true
	if replace != nil {
		t.supersede(sl, replace, s, why)
		return
	}
	sl.hs = s
	t.pending++
}

// target picks the session of slot sl that takes datagram b, or holds or
// drops b itself and returns nil. Application data belongs to the
// established session; handshake records to a handshake in progress when
// there is one. Called with t.mu held.
func (t *Transport) target(sl *peerSlot, d *Datagram, b []byte) *session {
	hs, est := sl.hs, sl.est
	if hs == nil {
		return est
	}
	if d.Epoch > 0 && !hs.peerCCS && (hs.client || d.Kind != KindAppData) {
		// A record of a later epoch before the peer's ChangeCipherSpec
		// came out of order (the Finished sent apart from the CCS, see
		// splitAtEpoch, overtook it), or is not of this handshake (an
		// alert of the association it replaces, say). pion would queue it
		// in a pooled buffer that it reuses at once, so it never gets it:
		// a handshake record waits here for the CCS instead (holdBeforeCCS).
		// A server holds application data (holdEarly).
		if len(b) > 0 && b[0] == contentHandshake {
			hs.holdBeforeCCS(b)
			return nil
		}
		if d.Kind != KindAppData || est == nil {
			t.stats.drop(dropUnexpected)
			return nil
		}
		return est
	}
	if d.Epoch == 0 && hasChangeCipherSpec(b) {
		hs.peerCCS = true
	}
	switch {
	case d.Kind != KindAppData:
		return hs
	case hs.holdEarly(b):
		return est // a restarted peer's record may still be for est
	case est != nil:
		// A restarted peer may send data on the new session before its
		// handshake here is promoted; the session that cannot decrypt
		// the record discards it.
		hs.vc.deliver(b)
		return est
	}
	return hs
}

// holdEarly keeps b, an application-data record for the server handshake
// s, until pion has finished that handshake, and reports whether it did.
// After a resumed handshake the client finishes first and sends its proof
// and queries at once; if its last flight was lost, pion's server would
// take those records while it waits for the flight to come again, and
// its reader blocks on the second one (pion buffers one), so the resent
// flight is never read and the handshake times out. Called with t.mu held.
func (s *session) holdEarly(b []byte) bool {
	if s.client || s.pionDone {
		return false
	}
	s.hold(&s.early, b)
	return true
}

// holdBeforeCCS keeps b, a handshake record of a later epoch that arrived
// before the peer's ChangeCipherSpec, until the datagram with the CCS has
// been handed to pion. On a real path the two datagrams of a final flight
// (splitAtEpoch) can swap; dropped, the Finished came again only with
// pion's retransmission a second later. Called with t.mu held.
func (s *session) holdBeforeCCS(b []byte) {
	if s.hold(&s.beforeCCS, b) {
		s.t.stats.heldBeforeCCS.Add(1)
	}
}

// hold keeps a copy of b in *held, at most maxEarlyRecords of them; past
// that b is dropped and counted. Called with t.mu held.
func (s *session) hold(held *[][]byte, b []byte) bool {
	if len(*held) >= maxEarlyRecords {
		s.t.stats.drop(dropQueueFull)
		return false
	}
	*held = append(*held, bytes.Clone(b))
	return true
}

// deliverHeld hands pion the records in *held, in order, and forgets them.
// Called with t.mu held.
func (s *session) deliverHeld(held *[][]byte) {
	for _, b := range *held {
		if !s.vc.deliver(b) {
			s.t.stats.drop(dropQueueFull)
		}
	}
	*held = nil
}

// releaseEarly marks pion's server handshake of s finished and hands it the
// records held meanwhile.
func (s *session) releaseEarly() {
	s.t.mu.Lock()
	defer s.t.mu.Unlock()
	s.pionDone = true
	s.deliverHeld(&s.early)
}

// resendLastFlight sends our last handshake flight again, as pion's
// client does not: after a resumed handshake the client finishes first,
// and when its last flight is lost the server sends its own again, which
// pion v2's finished client reads and never answers, so the server's
// handshake times out under a session the client counts as live. Bounded
// per session, so a peer cannot make us send without end. Called with
// t.mu held.
func (s *session) resendLastFlight() {
	if len(s.lastFlight) == 0 || s.flightResends >= maxFlightResends {
		s.t.stats.drop(dropUnexpected)
		return
	}
	s.flightResends++
	for _, d := range s.lastFlight {
		s.t.sock.WriteToUDPAddrPort(d, s.addr) //nolint:errcheck // lost like any datagram; the server resends
	}
}

// admitInbound applies the limits to a new inbound handshake. Called with
// t.mu held.
func (t *Transport) admitInbound(from netip.AddrPort, sl *peerSlot) bool {
	ok := t.limiter.allow(from.Addr(), t.cfg.Now())
	if ok && (sl == nil || sl.hs == nil) {
		ok = t.pending < t.cfg.MaxPendingHandshakes
	}
	if ok && (sl == nil || sl.est == nil) {
		ok = t.makeRoom()
	}
	if !ok {
		t.stats.handshake(hsLimited)
	}
	return ok
}

// finalFlightResent reports whether b, a plaintext record for the
// established session s, is the peer's part of a handshake that we
// finished and it did not: our own last flight was lost, so the peer
// resends its last flight (or, after a resumed handshake, the server
// resends its only one), and pion, which has finished, answers by sending
// ours again. Without it the peer times out on a session we count as
// live. Only a session that has not decrypted a record yet takes it (a
// server counts the client's proof, which comes once the client
// finished), and only handshake records, never a plaintext alert.
func finalFlightResent(s *session, b []byte) bool {
	return s.recvs.Load() == 0 && len(b) > 0 && b[0] == contentHandshake
}
