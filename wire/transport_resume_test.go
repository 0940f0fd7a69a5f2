package wire

import (
	"context"
	"errors"
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

	bID := b.LocalID()
	p, _ := a.ping(t, b, &bID)
	if p.ID != bID {
		t.Fatalf("the resumed session answers as %s, want %s", idHex(p.ID), idHex(bID))
	}
	if got := b.lastSeen(); got.ID != a.LocalID() {
		t.Fatalf("the server attributes the resumed session's query to %s, want %s", idHex(got.ID), idHex(a.LocalID()))
	}
	if ra, rb := a.Stats().Resumed, b.Stats().Resumed; ra != 1 || rb != 1 {
		t.Fatalf("resumed handshakes: client %d, server %d; want 1 and 1", ra, rb)
	}
	// The ticket serves again, and the session carries queries both ways.
	closeBoth(t, a, b)
	a.ping(t, b, nil)
	b.ping(t, a, nil)
	if ra := a.Stats().Resumed; ra != 2 {
		t.Fatalf("client resumed %d times, want 2", ra)
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
	var id []byte
	b.serverTickets.mu.Lock()
	for k := range b.serverTickets.byKey {
		id = []byte(k)
	}
	b.serverTickets.mu.Unlock()
	if len(id) == 0 {
		t.Fatal("the server kept no ticket")
	}
	other := rawSocket(t)
	hello := resumingHello(t, [helloRandomLen]byte{9}, id, "kadnode/test")
	if _, ok := nodeHelloVerify(sendHello(t, other, b.LocalAddr(), hello)); !ok {
		t.Fatal("a resuming hello from another address was not answered with a cookie")
	}
	if n := b.Stats().PendingHandshakes; n != 0 {
		t.Fatalf("a resuming hello from another address started %d handshakes", n)
	}
}

// A peer whose key changed at the same address cannot resume: the client
// offers its ticket, the new node does not know it, and the full
// handshake that follows shows the new certificate, which the expected ID
// refuses.
func TestResumeWithChangedKeyFails(t *testing.T) {
	a, b := newTestNode(t, nil), newTestNode(t, nil)
	a.ping(t, b, nil)
	addr, oldID := b.LocalAddr(), b.LocalID()
	b.crash()
	b2 := newTestNode(t, func(c *Config) { c.Listen = addr.String() })
	a.closeSessions()
	waitFor(t, "a to hold no session", func() bool { return idle(a.Transport) })

	_, _, err := a.Call(context.Background(), addr, &oldID, kad.PingQuery(a.LocalID(), false))
	var idErr *kad.IDMismatchError
	if !errors.As(err, &idErr) || idErr.Got != b2.LocalID() {
		t.Fatalf("calling the old ID at a re-keyed address: %v, want an ID mismatch naming %s", err, idHex(b2.LocalID()))
	}
	if n := a.Stats().Resumed + b2.Stats().Resumed; n != 0 {
		t.Fatalf("%d resumptions with a node that never met us", n)
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

// The ticket caches are bounded and their tickets expire.
func TestTicketCacheBoundedAndExpiring(t *testing.T) {
	now := time.Unix(1000, 0)
	c := newTicketCache(func() time.Time { return now })
	for i := range maxTickets + 10 {
		c.put(string(rune(i)), ticket{sess: dtls.Session{ID: []byte{1}}})
	}
	if n := c.len(); n != maxTickets {
		t.Fatalf("%d tickets kept, want the bound %d", n, maxTickets)
	}
	if _, ok := c.get(string(rune(0))); ok {
		t.Fatal("the oldest ticket survived the bound")
	}
	last := string(rune(maxTickets + 9))
	if _, ok := c.get(last); !ok {
		t.Fatal("the newest ticket is missing")
	}
	addr := netip.MustParseAddrPort("127.0.0.1:7")
	c.put(last, ticket{sess: dtls.Session{ID: []byte{1}}, addr: addr})
	if c.issuedTo(last, addr) {
		t.Fatal("a ticket whose client has not proven its ID counts as issued")
	}
	c.prove(last, kadtest.ID(1))
	if !c.issuedTo(last, addr) || c.issuedTo(last, netip.MustParseAddrPort("127.0.0.1:8")) {
		t.Fatal("issuedTo does not follow the address the ticket was issued to")
	}
	now = now.Add(ticketLifetime)
	if c.issuedTo(last, addr) {
		t.Fatal("an expired ticket still counts as issued")
	}
	if _, ok := c.get(last); ok {
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

// closeBoth closes every session of a and b and waits until both hold none.
func closeBoth(t *testing.T, a, b *testNode) {
	t.Helper()
	a.closeSessions()
	b.closeSessions()
	waitFor(t, "both ends to hold no session", func() bool { return idle(a.Transport) && idle(b.Transport) }, a, b)
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
