package wire

import (
	"bytes"
	"net"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/pion/dtls/v2/pkg/protocol/handshake"
)

// A ClientHello without a cookie gets a HelloVerifyRequest no larger than
// itself and leaves nothing behind; the same hello with that cookie, from
// the same address, starts a handshake; from another address it gets a
// HelloVerifyRequest again.
func TestCookieExchangeIsStateless(t *testing.T) {
	a := newTestNode(t, nil)
	hello := capturedHello(t)
	goroutines := runtime.NumGoroutine()
	c := rawSocket(t)
	hvr := sendHello(t, c, a.LocalAddr(), hello)
	if len(hvr) > len(hello) {
		t.Errorf("a %d-byte ClientHello was answered with %d bytes", len(hello), len(hvr))
	}
	cookie, ok := nodeHelloVerify(hvr)
	if !ok {
		t.Fatalf("the answer %x is not a node's HelloVerifyRequest", hvr)
	}
	st := a.Stats()
	if st.PendingHandshakes != 0 || st.Handshakes["cookie_sent"] != 1 || runtime.NumGoroutine() > goroutines {
		t.Fatalf("after a hello without cookie: %d pending, %d cookies sent, %d goroutines (%d before); want 0, 1, no more",
			st.PendingHandshakes, st.Handshakes["cookie_sent"], runtime.NumGoroutine(), goroutines)
	}
	echo, _, ok := setHelloCookie(hello, cookie)
	if !ok {
		t.Fatal("cannot put the cookie into the captured hello")
	}
	other := rawSocket(t)
	if _, ok := nodeHelloVerify(sendHello(t, other, a.LocalAddr(), echo)); !ok {
		t.Fatal("a cookie echoed from another address was not answered with a HelloVerifyRequest")
	}
	if n := a.Stats().PendingHandshakes; n != 0 {
		t.Fatalf("a cookie echoed from another address started %d handshakes", n)
	}
	if _, err := c.WriteToUDPAddrPort(echo, a.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the echoed cookie to start a handshake", func() bool { return a.Stats().PendingHandshakes == 1 }, a)
	if n := a.Stats().Handshakes["cookie_sent"]; n != 2 {
		t.Errorf("%d HelloVerifyRequests sent, want 2", n)
	}
}

// sendHello sends hello from c to to and returns the answer.
func sendHello(t *testing.T, c *net.UDPConn, to netip.AddrPort, hello []byte) []byte {
	t.Helper()
	if _, err := c.WriteToUDPAddrPort(hello, to); err != nil {
		t.Fatal(err)
	}
	if err := c.SetReadDeadline(time.Now().Add(waitTimeout)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, socketReadBufferSize)
	n, _, err := c.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatalf("no answer to a ClientHello: %v", err)
	}
	return buf[:n]
}

// A cookie is valid for the address it was made for, under the current
// and the previous secret, and no longer.
func TestCookieRotation(t *testing.T) {
	var j cookieJar
	t0 := time.Unix(1_000_000, 0)
	from := netip.MustParseAddrPort("192.0.2.1:6881")
	c := j.make(t0, from)
	cases := []struct {
		at   time.Time
		from netip.AddrPort
		want bool
	}{
		{t0, from, true},
		{t0, netip.MustParseAddrPort("192.0.2.1:6882"), false},
		{t0, netip.MustParseAddrPort("192.0.2.2:6881"), false},
		{t0.Add(cookieSecretLifetime), from, true},      // one rotation: the previous secret
		{t0.Add(2 * cookieSecretLifetime), from, false}, // two: gone
	}
	for _, tc := range cases {
		if got := j.valid(tc.at, tc.from, c); got != tc.want {
			t.Errorf("cookie made at 0 for %s, checked at %v for %s: %v, want %v", from, tc.at.Sub(t0), tc.from, got, tc.want)
		}
	}
	if j.valid(t0, from, c[:len(c)-1]) {
		t.Error("a truncated cookie passed")
	}
}

// FuzzHelloCookie feeds the cookie rewriting arbitrary datagrams: it never
// panics, and a cookie put in comes out again, with the rest unchanged.
func FuzzHelloCookie(f *testing.F) {
	var random [helloRandomLen]byte
	f.Add(helloDatagram(f, random, "kadnode/test"), []byte("0123456789abcdef0123456789abcdef"))
	f.Add(helloDatagram(f, random), []byte{})
	f.Add(record(contentHandshake, 0, []byte{byte(handshake.TypeHelloVerifyRequest), 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 3, 254, 255, 0}), []byte{1})
	f.Fuzz(func(t *testing.T, b, cookie []byte) {
		in := bytes.Clone(b)
		nodeHelloVerify(b)
		split, _ := splitHelloCookie(b)
		out, old, ok := setHelloCookie(b, cookie)
		if !bytes.Equal(in, b) {
			t.Fatal("the input was modified")
		}
		if split == nil {
			t.Fatal("splitHelloCookie returned no hello")
		}
		if !ok {
			return
		}
		back, got, ok := setHelloCookie(out, old)
		if !ok || !bytes.Equal(got, cookie) || !bytes.Equal(back, b) {
			t.Fatalf("cookie %x into %x gave %x; taking it out gave %x and %x (ok %v)", cookie, b, out, got, back, ok)
		}
		if Classify(out).Kind != Classify(b).Kind {
			t.Fatalf("putting a cookie in changed the datagram's kind")
		}
	})
}
