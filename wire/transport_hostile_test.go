package wire

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/kadnode/kadnode/kad"
	"github.com/kadnode/kadnode/kad/kadtest"
)

// Hostile and broken input, from strangers and from an authenticated
// peer: nothing panics, every kind is counted, and nothing reaches the
// handler.
func TestHostileInput(t *testing.T) {
	a := newTestNode(t, nil)
	b := newTestNode(t, func(c *Config) { c.RPCTimeout = 300 * time.Millisecond })
	raw := rawSocket(t)
	send := func(b []byte) {
		t.Helper()
		if _, err := raw.WriteToUDPAddrPort(b, a.LocalAddr()); err != nil {
			t.Fatal(err)
		}
	}
	waitDropped := func(reason string, n uint64) {
		t.Helper()
		waitFor(t, "a "+reason+" drop to be counted", func() bool { return a.Stats().Dropped[reason] == n })
	}

	// From an address with no session.
	send([]byte("\x00\x01garbage that is not DTLS"))
	waitDropped("garbage", 1)
	send(mustEncode(t, kad.PingQuery(kadtest.ID(1), false)))
	waitDropped("plaintext", 1)
	send(make([]byte, maxDatagramSize+1))
	waitDropped("oversize", 1)
	send(record(contentApplicationData, 1, make([]byte, 48)))
	waitDropped("no_session", 1)
	var random [helloRandomLen]byte
	send(helloDatagram(t, random)) // a ClientHello naming no network
	waitFor(t, "the hello without ALPN to be refused", func() bool {
		return a.Stats().Handshakes["network_mismatch"] == 1
	})

	// From an authenticated peer, on its session's address.
	b.ping(t, a, nil)
	a.served.Store(0)
	s := b.sessionWith(a.LocalAddr())
	fromPeer := func(d []byte) {
		t.Helper()
		if _, err := b.sock.WriteToUDPAddrPort(d, a.LocalAddr()); err != nil {
			t.Fatal(err)
		}
	}
	inSession := func(m []byte) {
		t.Helper()
		if _, err := s.conn.Write(m); err != nil {
			t.Fatal(err)
		}
	}
	fromPeer([]byte("\x01\x02garbage after the handshake"))
	waitDropped("garbage", 2)
	fromPeer(record(contentAlert, 0, []byte{2, 40})) // a forged plaintext fatal alert
	waitDropped("unexpected_record", 1)
	inSession([]byte("d1:t2:aa1:y1:q" + strings.Repeat("x", kad.MaxMessageSize) + "e"))
	waitDropped("oversize", 2)
	inSession([]byte("not bencode"))
	waitDropped("malformed", 1)
	inSession(mustEncode(t, &krpc.Msg{T: "zz", Y: krpc.YResponse, R: &krpc.Return{ID: b.LocalID()}}))
	waitDropped("unknown_txid", 1)
	inSession(mustEncode(t, &krpc.Msg{T: "zz", Y: krpc.YResponse, R: &krpc.Return{ID: kadtest.ID(9)}}))
	waitDropped("id_mismatch", 1)

	// A query whose id is not the certificate's is answered with 203.
	_, _, err := s.exchange(context.Background(), kad.PingQuery(kadtest.ID(9), false))
	var ke *krpc.Error
	if !errors.As(err, &ke) || ke.Code != krpc.ErrorCodeProtocolError {
		t.Fatalf("query with a forged id: got %v, want KRPC error 203", err)
	}
	waitDropped("id_mismatch", 2)

	if n := a.served.Load(); n != 0 {
		t.Fatalf("the handler ran %d times for bad input", n)
	}
	// The session survived all of it.
	b.ping(t, a, nil)
	if a.served.Load() != 1 {
		t.Fatal("a good query after the bad input did not reach the handler")
	}
}

// A forged ClientHello from a peer's address gets a HelloVerifyRequest
// (sent to the peer, which has no use for it) and opens nothing: a call to
// that peer then handshakes at once.
func TestForgedHelloDoesNotBlockCalls(t *testing.T) {
	a := newTestNode(t, func(c *Config) { c.HandshakeTimeout = time.Second })
	b := newTestNode(t, nil)
	// Sent from B's socket, so A sees B's address; B itself knows nothing.
	if _, err := b.sock.WriteToUDPAddrPort(capturedHello(t), a.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "A to answer the forged hello with a cookie", func() bool { return a.Stats().Handshakes["cookie_sent"] == 1 })
	if n := a.Stats().PendingHandshakes; n != 0 {
		t.Fatalf("A holds %d pending handshakes after a hello without cookie, want 0", n)
	}
	p, _ := a.ping(t, b, nil)
	if p.ID != b.LocalID() {
		t.Fatalf("call reached %x, want B", p.ID[:])
	}
	if got := a.Stats().Handshakes["timeout"]; got != 0 {
		t.Errorf("A counted %d handshake timeouts, want 0", got)
	}
}
