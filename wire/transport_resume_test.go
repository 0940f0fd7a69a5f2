package wire

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kadnode/kadnode/kad"
	"github.com/kadnode/kadnode/kad/kadtest"
	"github.com/pion/dtls/v2"
)

// A peer met before is met again with an abbreviated handshake, and both
// ends still know whose the session is: the client from the ticket it
// kept with the server's proven ID, the server from the client's proof.
func TestResumedSessionKeepsIdentity(t *testing.T) {
	a, b := newTestNode(t, nil), newTestNode(t, nil)
	a.ping(t, b, nil)
	if n := a.Stats().Resumed + b.Stats().Resumed; n != 0 {
		t.Fatalf("the first handshake counted %d resumptions", n)
	}
	closeBoth(t, a, b)
	resumeAndCheck(t, a, b)
	// The ticket serves again, and the session carries queries both ways.
	closeBoth(t, a, b)
	a.ping(t, b, nil)
	b.ping(t, a, nil)
	if ra := a.Stats().Resumed; ra != 2 {
		t.Fatalf("client resumed %d times, want 2", ra)
	}
}

// The node that answered a full handshake resumes it when it calls back:
// each end keeps its ticket for both roles, and each still knows whose
// it is. The first handshake proved the caller's address, so its hello
// skips the cookie.
func TestResumedInTheOtherRole(t *testing.T) {
	a, b := newTestNode(t, nil), newTestNode(t, nil)
	a.ping(t, b, nil)
	if ta, tb := a.Stats().Tickets, b.Stats().Tickets; ta != 1 || tb != 1 {
		t.Fatalf("after one full handshake the ends keep %d and %d tickets, want 1 each", ta, tb)
	}
	closeBoth(t, a, b)
	resumeAndCheck(t, b, a)
	if n := a.Stats().Handshakes["cookie_sent"]; n != 0 {
		t.Fatalf("the resumed hello from the first handshake's server was sent %d cookies, want 0", n)
	}
}

// A hello that resumes a session the server issued to the same address
// skips the cookie exchange; a full handshake does not.
func TestResumptionSkipsTheCookie(t *testing.T) {
	a, b := newTestNode(t, nil), newTestNode(t, nil)
	a.ping(t, b, nil)
	if n := b.Stats().Handshakes["cookie_sent"]; n != 1 {
		t.Fatalf("the full handshake took %d cookies, want 1", n)
	}
	closeBoth(t, a, b)
	a.ping(t, b, nil)
	st := b.Stats()
	if st.Resumed != 1 {
		t.Fatalf("resumed %d handshakes, want 1", st.Resumed)
	}
	if n := st.Handshakes["cookie_sent"]; n != 1 {
		t.Fatalf("the resumed handshake was answered with a cookie (%d sent in all, want 1)", n)
	}
	// The same session ID from another address gets a cookie, and no state.
	ids := b.tickets.sessionIDs()
	if len(ids) != 1 {
		t.Fatalf("the server kept %d tickets, want 1", len(ids))
	}
	id := ids[0]
	other := rawSocket(t)
	hello := resumingHello(t, [helloRandomLen]byte{9}, id, "kadnode/test")
	if _, ok := nodeHelloVerify(sendHello(t, other, b.LocalAddr(), hello)); !ok {
		t.Fatal("a resuming hello from another address was not answered with a cookie")
	}
	if n := b.Stats().PendingHandshakes; n != 0 {
		t.Fatalf("a resuming hello from another address started %d handshakes", n)
	}
}

// A peer whose key changed at the same address cannot resume, whichever
// end of the first handshake it was: the caller offers its ticket, the
// new node does not know it, and the full handshake that follows shows
// the new certificate, which the expected ID refuses.
func TestResumeWithChangedKeyFails(t *testing.T) {
	for _, rekeyed := range []string{"server", "client"} {
		t.Run("the first handshake's "+rekeyed, func(t *testing.T) {
			a, b := newTestNode(t, nil), newTestNode(t, nil)
			a.ping(t, b, nil)
			caller, callee := a, b
			if rekeyed == "client" {
				caller, callee = b, a
			}
			addr, oldID := callee.LocalAddr(), callee.LocalID()
			callee.crash()
			renewed := newTestNode(t, func(c *Config) { c.Listen = addr.String() })
			caller.closeSessions()
			waitFor(t, "the caller to hold no session", func() bool { return idle(caller.Transport) })

			_, _, err := caller.Call(context.Background(), addr, &oldID, kad.PingQuery(caller.LocalID(), false))
			var idErr *kad.IDMismatchError
			if !errors.As(err, &idErr) || idErr.Got != renewed.LocalID() {
				t.Fatalf("calling the old ID at a re-keyed address: %v, want an ID mismatch naming %s", err, idHex(renewed.LocalID()))
			}
			if n := caller.Stats().Resumed + renewed.Stats().Resumed; n != 0 {
				t.Fatalf("%d resumptions with a node that never met us", n)
			}
		})
	}
}

// A ticket is offered only to the ID it was made with: a call that
// expects another ID at that address runs a full handshake and fails on
// the certificate, instead of resuming past the check.
func TestTicketNotOfferedForAnotherID(t *testing.T) {
	a, b := newTestNode(t, nil), newTestNode(t, nil)
	a.ping(t, b, nil)
	closeBoth(t, a, b)
	other := kadtest.ID(7)
	_, _, err := a.Call(context.Background(), b.LocalAddr(), &other, kad.PingQuery(a.LocalID(), false))
	var idErr *kad.IDMismatchError
	if !errors.As(err, &idErr) || idErr.Got != b.LocalID() {
		t.Fatalf("expecting another ID: %v, want an ID mismatch naming %s", err, idHex(b.LocalID()))
	}
	if n := b.Stats().Resumed; n != 0 {
		t.Fatalf("the server resumed %d times for a client that expected another ID", n)
	}
}

// The ticket cache is bounded and its tickets expire. A server's ticket
// is resumed, and found by address, only once its client proved its ID;
// a session ID already held keeps its ticket; a newer ticket for an
// address replaces the older one.
func TestTicketCacheBoundedAndExpiring(t *testing.T) {
	now := time.Unix(1000, 0)
	c := newTicketCache(func() time.Time { return now })
	sid := func(i int) string { return fmt.Sprintf("session %d", i) }
	for i := range maxTickets + 10 {
		c.put(ticket{sess: dtls.Session{ID: []byte(sid(i))}, addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(i))})
	}
	if n := c.len(); n != maxTickets {
		t.Fatalf("%d tickets kept, want the bound %d", n, maxTickets)
	}
	if _, ok := c.session(sid(0)); ok {
		t.Fatal("the oldest ticket survived the bound")
	}
	if _, ok := c.session(sid(maxTickets + 9)); !ok {
		t.Fatal("the newest ticket is missing")
	}

	addr, other := netip.MustParseAddrPort("127.0.0.2:7"), netip.MustParseAddrPort("127.0.0.2:8")
	served := dtls.Session{ID: []byte("served"), Secret: []byte("secret 1")}
	c.put(ticket{sess: served, addr: addr})
	if _, ok := c.forPeer(addr); ok || c.issuedTo("served", addr) {
		t.Fatal("a ticket whose client has not proven its ID is offered or counts as issued")
	}
	c.prove("served", kadtest.ID(1))
	if !c.issuedTo("served", addr) || c.issuedTo("served", other) {
		t.Fatal("issuedTo does not follow the address the ticket was issued to")
	}
	if tk, ok := c.forPeer(addr); !ok || tk.peer != kadtest.ID(1) {
		t.Fatalf("the proven ticket is not offered to call its client back: %+v, %v", tk, ok)
	}
	// pion's server stores a session a second time when it parses the
	// client's last flight again: the ticket stays one, and proven.
	n := c.len()
	c.put(ticket{sess: served, addr: addr})
	if c.len() != n || !c.issuedTo("served", addr) {
		t.Fatalf("storing the same session again: %d tickets (want %d), issued %v", c.len(), n, c.issuedTo("served", addr))
	}

	c.put(ticket{sess: dtls.Session{ID: []byte("served"), Secret: []byte("secret 2")}, addr: other, peer: kadtest.ID(2), proven: true})
	if !c.issuedTo("served", addr) || c.issuedTo("served", other) {
		t.Fatal("a peer-chosen session ID displaced the ticket that held it")
	}
	if tk, ok := c.forPeer(other); !ok || tk.peer != kadtest.ID(2) {
		t.Fatalf("the ticket whose session ID was taken is not kept by address: %+v, %v", tk, ok)
	}
	c.removePeer(other)
	if _, ok := c.forPeer(other); ok {
		t.Fatal("removePeer left the ticket")
	}

	c.put(ticket{sess: dtls.Session{ID: []byte("dialled")}, addr: addr, peer: kadtest.ID(1), proven: true})
	if tk, _ := c.forPeer(addr); string(tk.sess.ID) != "dialled" {
		t.Fatalf("the ticket for the address is %q, want the newer one", tk.sess.ID)
	}
	if _, ok := c.session("served"); ok {
		t.Fatal("the replaced ticket is still held")
	}

	now = now.Add(ticketLifetime)
	if c.issuedTo("dialled", addr) {
		t.Fatal("an expired ticket still counts as issued")
	}
	if _, ok := c.forPeer(addr); ok {
		t.Fatal("a ticket outlived ticketLifetime")
	}
}

// A session whose client sends no identity proof serves nothing: its
// first record, a query, is refused and the handshake fails there.
func TestSessionWithoutProofServesNothing(t *testing.T) {
	b := newTestNode(t, nil)
	c := rawClient(t, b, nil)
	if _, err := c.Write(mustEncode(t, kad.PingQuery(kadtest.ID(1), false))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the server to refuse the session", func() bool { return b.Stats().Handshakes["failed"] == 1 }, b)
	if n := b.served.Load(); n != 0 {
		t.Fatalf("the handler ran %d times for a session without proof", n)
	}
	if st := b.Stats(); st.LiveSessions != 0 {
		t.Fatalf("%d live sessions after a refused proof", st.LiveSessions)
	}
}

// A proof taken from one session is worth nothing on another: it signs
// that session's keying material.
func TestProofFromAnotherSessionRefused(t *testing.T) {
	b := newTestNode(t, nil)
	id := mustIdentity(t)
	first := rawClient(t, b, nil)
	st := first.ConnectionState()
	stolen, err := makeProof(id.Key, &st)
	if err != nil {
		t.Fatal(err)
	}
	second := rawClient(t, b, nil)
	if _, err := second.Write(stolen); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the server to refuse the replayed proof", func() bool { return b.Stats().Handshakes["failed"] >= 1 }, b)
	if st := b.Stats(); st.LiveSessions != 0 {
		t.Fatalf("%d live sessions after a replayed proof", st.LiveSessions)
	}
}

// The server resumes a session only with the ID proven on its full
// handshake: a ticket whose client never proved its ID is not resumed,
// and a client that resumes and then proves another key is refused.
func TestResumptionKeepsTheProvenID(t *testing.T) {
	b := newTestNode(t, nil)
	store := newClientStore()
	first, second := mustIdentity(t), mustIdentity(t)

	// The server keeps a ticket for this handshake once it is done, but
	// no proof ever comes on it.
	rawClient(t, b, store)
	c := rawClient(t, b, store)
	if resumedConn(c) {
		t.Fatal("the server resumed a ticket whose client proved no ID")
	}
	if n := b.tickets.proven(); n != 0 {
		t.Fatalf("the server keeps %d tickets to call back a client that proved no ID, want 0", n)
	}
	if err := ProveIdentity(c, first); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the proven session to go live", func() bool { return b.Stats().LiveSessions == 1 }, b)
	b.closeSessions()
	waitFor(t, "the server to close it", func() bool { return b.Stats().LiveSessions == 0 }, b)

	c = rawClient(t, b, store)
	if !resumedConn(c) {
		t.Fatal("a ticket with a proven ID was not resumed")
	}
	if err := ProveIdentity(c, second); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the server to refuse the other key", func() bool { return b.Stats().Handshakes["failed"] == 1 }, b)
	if st := b.Stats(); st.LiveSessions != 0 || st.Resumed != 0 {
		t.Fatalf("after a resumed session proved another key: %d live sessions, %d resumed; want none", st.LiveSessions, st.Resumed)
	}
}

// rawClient completes a DTLS handshake with b from a pion client that
// speaks for itself: it sends no identity proof unless the test does.
// With a store, it offers and keeps tickets there.
func rawClient(t *testing.T, b *testNode, store dtls.SessionStore) *dtls.Conn {
	t.Helper()
	udp, err := net.DialUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}, net.UDPAddrFromAddrPort(b.LocalAddr()))
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := pionConfigs(t)
	cfg.SupportedProtocols = []string{alpnPrefix + "test"}
	cfg.SessionStore = store
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	c, err := dtls.ClientWithContext(ctx, CookieConn(udp), cfg)
	if err != nil {
		udp.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// The client's last flight of a resumed handshake is lost while the
// client, finished, already sends its proof and several queries. The
// server's pion must still take the resent flight and finish: the records
// that came early wait for it instead of stalling its reader.
func TestResumedLostFinalFlightWithEarlyQueries(t *testing.T) {
	a, b := newTestNode(t, nil), newTestNode(t, nil)
	a.ping(t, b, nil)
	closeBoth(t, a, b)
	var dropped atomic.Bool
	drop := func(to netip.AddrPort, d []byte) bool {
		// In a resumed handshake the client's last flight starts with its
		// ChangeCipherSpec.
		return to == b.LocalAddr() && len(d) > 0 && d[0] == contentChangeCipherSpec && dropped.CompareAndSwap(false, true)
	}
	a.loss.Store(&drop)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	s, _, err := a.sessionFor(ctx, b.LocalAddr(), nil)
	if err != nil {
		t.Fatal(err)
	}
	const calls = 4
	errs := make(chan error, calls)
	for range calls {
		go func() {
			_, _, err := s.exchange(ctx, kad.PingQuery(a.LocalID(), false))
			errs <- err
		}()
	}
	failed := 0
	for range calls {
		if err := <-errs; err != nil {
			failed++
			t.Logf("early query: %v", err)
		}
	}
	if !dropped.Load() {
		t.Fatal("no flight was dropped, so nothing was tested")
	}
	if a.Stats().Resumed != 1 {
		t.Fatalf("the client resumed %d times, want 1", a.Stats().Resumed)
	}
	waitFor(t, "the server to finish the resumed handshake", func() bool { return b.Stats().Resumed == 1 }, a, b)
	if n := b.Stats().Handshakes["timeout"]; n != 0 {
		t.Errorf("the server counted %d handshake timeouts, want 0", n)
	}
	a.ping(t, b, nil)
	t.Logf("%d of %d early queries failed", failed, calls)
}
