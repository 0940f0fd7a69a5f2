package wire

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/kadnode/kadnode/kad"
	"github.com/kadnode/kadnode/kad/kadtest"
)

// One socket is client and server at once: A calls B, and B and C call A,
// all on A's listening socket; the callee sees the caller's listening
// address and certificate ID.
func TestOneSocketBothWays(t *testing.T) {
	a, b, c := newTestNode(t, nil), newTestNode(t, nil), newTestNode(t, nil)

	p, r := a.ping(t, b, nil)
	if p.ID != b.LocalID() || p.Addr != b.LocalAddr() {
		t.Errorf("A's call reports peer %x@%s, want %s@%s", p.ID[:], p.Addr, idHex(b.LocalID()), b.LocalAddr())
	}
	if got := b.lastSeen(); got != (kad.Peer{ID: a.LocalID(), Addr: a.LocalAddr()}) {
		t.Errorf("B's handler saw %x@%s, want A %s@%s", got.ID[:], got.Addr, idHex(a.LocalID()), a.LocalAddr())
	}
	if got := r.IP.UDP().AddrPort(); kad.UnmapAddrPort(got) != a.LocalAddr() {
		t.Errorf("B's reply says A is at %s, want %s", got, a.LocalAddr())
	}

	// B calls back over the session A opened: no second handshake.
	b.ping(t, a, nil)
	if got := a.lastSeen(); got != (kad.Peer{ID: b.LocalID(), Addr: b.LocalAddr()}) {
		t.Errorf("A's handler saw %v, want B", got)
	}
	c.ping(t, a, nil)
	if got := a.lastSeen(); got != (kad.Peer{ID: c.LocalID(), Addr: c.LocalAddr()}) {
		t.Errorf("A's handler saw %v, want C", got)
	}
	st := a.Stats()
	if st.LiveSessions != 2 || st.Handshakes["ok"] != 2 {
		t.Errorf("A has %d live sessions after %d handshakes, want 2 and 2", st.LiveSessions, st.Handshakes["ok"])
	}
	if st := b.Stats(); st.Handshakes["ok"] != 1 {
		t.Errorf("B completed %d handshakes, want 1 (B's call reuses A's session)", st.Handshakes["ok"])
	}
}

func TestFindNodeAndErrorReplies(t *testing.T) {
	a, b := newTestNode(t, nil), newTestNode(t, nil)
	target := kadtest.ID(7)
	p, r, err := a.Call(context.Background(), b.LocalAddr(), nil, kad.FindNodeQuery(a.LocalID(), target, false))
	if err != nil {
		t.Fatal(err)
	}
	if p.ID != b.LocalID() || r.R == nil || r.R.ID != b.LocalID() {
		t.Fatalf("find_node reply %+v from %v, want B's", r, p)
	}
	// An unknown method comes back as a *krpc.Error.
	q := kad.PingQuery(a.LocalID(), false)
	q.Q = "vote"
	_, _, err = a.Call(context.Background(), b.LocalAddr(), nil, q)
	var ke *krpc.Error
	if !errors.As(err, &ke) || ke.Code != krpc.ErrorCodeMethodUnknown {
		t.Fatalf("unknown method: got %v (%T), want a *krpc.Error with code 204", err, err)
	}
}

// A wrong expected ID fails the handshake with an error naming both IDs
// and leaves no session on either side.
func TestExpectedIDMismatch(t *testing.T) {
	a, b := newTestNode(t, nil), newTestNode(t, nil)
	wrong := kadtest.ID(0xab)
	_, _, err := a.Call(context.Background(), b.LocalAddr(), &wrong, kad.PingQuery(a.LocalID(), false))
	var me *kad.IDMismatchError
	if !errors.As(err, &me) {
		t.Fatalf("got %v (%T), want *IDMismatchError", err, err)
	}
	if me.Expected != wrong || me.Got != b.LocalID() {
		t.Errorf("mismatch error has expected %x got %x, want %x and %s", me.Expected[:], me.Got[:], wrong[:], idHex(b.LocalID()))
	}
	for _, id := range []krpc.ID{wrong, b.LocalID()} {
		if !strings.Contains(err.Error(), fmt.Sprintf("%x", id[:])) {
			t.Errorf("error %q does not name %x", err, id[:])
		}
	}
	if !idle(a.Transport) {
		t.Errorf("A keeps a session after the mismatch: %+v", a.Stats())
	}
	waitFor(t, "B to drop the failed handshake", func() bool { return idle(b.Transport) })
	if a.Stats().Handshakes["id_mismatch"] != 1 {
		t.Errorf("A's stats %v, want one id_mismatch handshake", a.Stats().Handshakes)
	}
	if b.served.Load() != 0 {
		t.Errorf("B's handler ran %d times", b.served.Load())
	}
	// The right ID then works.
	id := b.LocalID()
	a.ping(t, b, &id)
}

// Nodes of different networks refuse each other, in both directions.
func TestNetworkMismatch(t *testing.T) {
	a := newTestNode(t, func(c *Config) { c.Network = "alpha" })
	b := newTestNode(t, func(c *Config) { c.Network = "beta" })
	for _, dir := range []struct{ from, to *testNode }{{a, b}, {b, a}} {
		_, _, err := dir.from.Call(context.Background(), dir.to.LocalAddr(), nil, kad.PingQuery(dir.from.LocalID(), false))
		if !errors.Is(err, kad.ErrNetworkMismatch) {
			t.Fatalf("call across networks: got %v, want ErrNetworkMismatch", err)
		}
		if !strings.Contains(err.Error(), "--network") {
			t.Errorf("error %q does not say how to fix it", err)
		}
		// Let the callee's side fail too, or the next call would join it.
		waitFor(t, "the callee to drop the refused handshake", func() bool { return idle(dir.to.Transport) })
	}
	waitFor(t, "both sides to count refused handshakes", func() bool {
		return a.Stats().Handshakes["network_mismatch"] == 2 && b.Stats().Handshakes["network_mismatch"] == 2
	}, a, b)
	if a.served.Load()+b.served.Load() != 0 {
		t.Error("a handler ran for a peer of another network")
	}
	if !idle(a.Transport) || !idle(b.Transport) {
		t.Errorf("sessions left: A %+v, B %+v", a.Stats(), b.Stats())
	}
}

func TestListenPortInUse(t *testing.T) {
	a := newTestNode(t, nil)
	id, err := NewIdentity()
	if err != nil {
		t.Fatal(err)
	}
	_, err = Listen(Config{Identity: id, Listen: a.LocalAddr().String()})
	if err == nil || !strings.Contains(err.Error(), "in use") || !strings.Contains(err.Error(), "--listen") {
		t.Fatalf("Listen on a busy port: %v, want an error saying the port is in use and how to pick another", err)
	}
}

func TestCallAfterClose(t *testing.T) {
	a, b := newTestNode(t, nil), newTestNode(t, nil)
	a.Close()
	_, _, err := a.Call(context.Background(), b.LocalAddr(), nil, kad.PingQuery(a.LocalID(), false))
	if !errors.Is(err, kad.ErrClosed) {
		t.Fatalf("Call after Close: %v, want ErrClosed", err)
	}
	if err := a.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// Closing one side tells the other at once (close_notify), and the idle
// reaper closes unused sessions.
func TestCloseNotifyAndReaper(t *testing.T) {
	a := newTestNode(t, func(c *Config) { c.IdleTimeout = 100 * time.Millisecond })
	b := newTestNode(t, nil)
	a.ping(t, b, nil)
	waitFor(t, "the reaper to close A's idle session, and B to follow", func() bool {
		return idle(a.Transport) && idle(b.Transport)
	})
	// A new call opens a new session.
	a.ping(t, b, nil)
	if got := a.Stats().Handshakes["ok"]; got != 2 {
		t.Errorf("A completed %d handshakes, want 2", got)
	}
}

// The rate limit per source IP refuses handshakes beyond its burst, and
// the counter says so.
func TestHandshakeRateLimit(t *testing.T) {
	frozen := testClock()
	b := newTestNode(t, func(c *Config) {
		c.HandshakesPerIPPerSecond = 1 // burst 2
		c.Now = frozen
	})
	var ok, failed int
	for range 3 {
		c := newTestNode(t, func(c *Config) { c.HandshakeTimeout = 300 * time.Millisecond })
		if _, _, err := c.Call(context.Background(), b.LocalAddr(), nil, kad.PingQuery(c.LocalID(), false)); err != nil {
			var te *kad.HandshakeTimeoutError
			if !errors.As(err, &te) {
				t.Fatalf("refused call: %v, want a handshake timeout", err)
			}
			failed++
		} else {
			ok++
		}
	}
	if ok != 2 || failed != 1 {
		t.Fatalf("%d calls passed and %d failed, want 2 and 1", ok, failed)
	}
	if got := b.Stats().Handshakes["limited"]; got == 0 {
		t.Errorf("no limited handshake counted: %v", b.Stats().Handshakes)
	}
}

// A datagram that is too big for any record is dropped before DTLS.
func TestOversizeDatagram(t *testing.T) {
	a := newTestNode(t, nil)
	raw := rawSocket(t)
	if _, err := raw.WriteToUDPAddrPort(make([]byte, maxDatagramSize+1), a.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the oversize datagram to be counted", func() bool { return a.Stats().Dropped["oversize"] == 1 })
}

// The transport works the same over IPv6 loopback.
func TestIPv6(t *testing.T) {
	probe, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback})
	if err != nil {
		t.Skipf("no IPv6 loopback here: %v", err)
	}
	probe.Close()
	on6 := func(c *Config) { c.Listen = "[::1]:0" }
	a, b := newTestNode(t, on6), newTestNode(t, on6)
	p, _ := a.ping(t, b, nil)
	if p.ID != b.LocalID() || !p.Addr.Addr().Is6() {
		t.Fatalf("call over IPv6 reports %x@%s", p.ID[:], p.Addr)
	}
	if got := b.lastSeen(); got.Addr != a.LocalAddr() {
		t.Errorf("B saw the caller at %s, want %s", got.Addr, a.LocalAddr())
	}
}
