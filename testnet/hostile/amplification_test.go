package hostile

import (
	"context"
	"crypto/rand"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/dtls/v2"
	"github.com/pion/dtls/v2/pkg/protocol"
	"github.com/pion/dtls/v2/pkg/protocol/extension"
	"github.com/pion/dtls/v2/pkg/protocol/handshake"
	"github.com/pion/dtls/v2/pkg/protocol/recordlayer"

	"github.com/kadnode/kadnode/kad"
	"github.com/kadnode/kadnode/wire"
)

// probe is one kind of unauthenticated input sent from an address of its
// own, and what came back to that address.
type probe struct {
	name    string
	trigger [][]byte // datagrams sent, in order
	sock    *net.UDPConn

	replies, replyBytes int
}

func (p *probe) triggerBytes() int {
	n := 0
	for _, d := range p.trigger {
		n += len(d)
	}
	return n
}

func (p *probe) ratio() float64 { return float64(p.replyBytes) / float64(p.triggerBytes()) }

// record builds a DTLS record of the given content type and epoch.
func record(contentType byte, epoch uint16, body []byte) []byte {
	b := []byte{contentType, 0xfe, 0xfd, byte(epoch >> 8), byte(epoch), 0, 0, 0, 0, 0, 0, byte(len(body) >> 8), byte(len(body))}
	return append(b, body...)
}

// smallestHello is the shortest ClientHello that still gets a
// HelloVerifyRequest: one cipher suite, the extended master secret that
// pion requires, and a one-byte ALPN name (the node refuses a hello
// without ALPN before pion sees it; the name is checked only later).
func smallestHello(t *testing.T) []byte {
	t.Helper()
	var random handshake.Random
	if err := random.Populate(); err != nil {
		t.Fatal(err)
	}
	rec := &recordlayer.RecordLayer{
		Header: recordlayer.Header{Version: protocol.Version1_2},
		Content: &handshake.Handshake{Message: &handshake.MessageClientHello{
			Version:            protocol.Version1_2,
			Random:             random,
			CipherSuiteIDs:     []uint16{uint16(dtls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256)},
			CompressionMethods: []*protocol.CompressionMethod{{}},
			Extensions: []extension.Extension{
				&extension.UseExtendedMasterSecret{Supported: true},
				&extension.ALPN{ProtocolNameList: []string{"x"}},
			},
		}},
	}
	b, err := rec.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// No reply to an unauthenticated datagram is larger than the datagram
// that triggered it, the HelloVerifyRequest of the cookie exchange
// included; everything the node sends until the half-open handshakes
// expire is counted. The server flight that answers a ClientHello with a
// valid cookie (the address is proven by then) is measured and reported
// beside them.
func TestAmplification(t *testing.T) {
	tg := newTarget(t, "", nil, func(c *wire.Config) { c.HandshakeTimeout = wire.DefaultHandshakeTimeout })
	id, err := wire.NewIdentity()
	if err != nil {
		t.Fatal(err)
	}
	hello := clientHello(t, rogueConfig(id, networkName, true))
	var otherRandom [32]byte
	rand.Read(otherRandom[:])
	handshakeRecord := withRandom(hello, otherRandom)
	handshakeRecord[13] = 11 // a Certificate message, not a ClientHello
	garbage := make([]byte, 64)
	rand.Read(garbage)
	garbage[0] = 0xff
	pingQuery := kad.PingQuery(id.ID, false)
	pingQuery.T, pingQuery.Y = "aa", "q"
	ping, err := kad.EncodeMsg(pingQuery)
	if err != nil {
		t.Fatal(err)
	}

	probes := []*probe{
		{name: "garbage", trigger: [][]byte{garbage}},
		{name: "plaintext KRPC ping", trigger: [][]byte{ping}},
		{name: "oversize datagram", trigger: [][]byte{make([]byte, 1501)}},
		{name: "ClientHello without ALPN", trigger: [][]byte{clientHello(t, rogueConfig(id, networkName, false))}},
		{name: "ClientHello of another network", trigger: [][]byte{clientHello(t, rogueConfig(id, "elsewhere", true))}},
		{name: "ClientHello", trigger: [][]byte{hello}},
		{name: "ClientHello sent 3 times", trigger: [][]byte{hello, hello, hello}},
		{name: "smallest ClientHello answered", trigger: [][]byte{smallestHello(t)}},
		{name: "handshake record, no session", trigger: [][]byte{handshakeRecord}},
		{name: "application data, no session", trigger: [][]byte{record(23, 1, make([]byte, 48))}},
		{name: "alert, no session", trigger: [][]byte{record(21, 0, []byte{2, 40})}},
	}
	before := tg.Transport().Stats()
	for i, p := range probes {
		p.sock = udpOn(t, hostIP(blockSpoof, 20+i))
		for _, d := range p.trigger {
			if _, err := p.sock.WriteToUDPAddrPort(d, tg.Addr); err != nil {
				t.Fatal(err)
			}
		}
	}
	cookie := probeCookieExchange(t, hostIP(blockSpoof, 20+len(probes)), tg.Addr, id)

	// The mux answers the six hellos with ALPN and the cookie probe's
	// first one with a HelloVerifyRequest and keeps nothing; only the
	// cookie echo starts a handshake. When it has expired the node sends
	// nothing more to any probe.
	waitFor(t, "the half-open handshake to expire", func() bool {
		st := tg.Transport().Stats()
		return st.PendingHandshakes == 0 && st.Handshakes["timeout"]-before.Handshakes["timeout"] == 1
	})
	after := tg.Transport().Stats()
	if got := after.Handshakes["cookie_sent"] - before.Handshakes["cookie_sent"]; got != 7 {
		t.Errorf("hellos answered with a cookie: %d, want 7", got)
	}
	for reason, want := range map[string]uint64{"garbage": 1, "plaintext": 1, "oversize": 1, "no_session": 3} {
		if got := after.Dropped[reason] - before.Dropped[reason]; got != want {
			t.Errorf("dropped as %s: %d, want %d", reason, got, want)
		}
	}
	if got := after.Handshakes["network_mismatch"] - before.Handshakes["network_mismatch"]; got != 1 {
		t.Errorf("hellos refused for naming no network: %d, want 1", got)
	}

	worst := probes[0]
	for _, p := range probes {
		p.replies, p.replyBytes = drain(p.sock)
		t.Logf("%-32s sent %4d B in %d datagram(s), got %4d B in %d datagram(s): ratio %.2f",
			p.name, p.triggerBytes(), len(p.trigger), p.replyBytes, p.replies, p.ratio())
		if p.ratio() > worst.ratio() {
			worst = p
		}
		if p.replyBytes > p.triggerBytes() {
			t.Errorf("%s: %d bytes answered with %d: amplification", p.name, p.triggerBytes(), p.replyBytes)
		}
	}
	cookie.replies, cookie.replyBytes = drain(cookie.sock)
	cookie.replyBytes += int(cookie.serverFlightRead.Load())
	t.Logf("worst unauthenticated ratio: %.2f (%s)", worst.ratio(), worst.name)
	t.Logf("after the cookie exchange (address proven): ClientHello with cookie %d B answered with %d B "+
		"(server flight and its retransmissions until the handshake timeout): ratio %.2f",
		cookie.triggerBytes(), cookie.replyBytes, cookie.ratio())
}

// cookieProbe is a pion client that completes the cookie exchange, sends
// its ClientHello with the cookie and then falls silent.
type cookieProbe struct {
	probe
	serverFlightRead atomic.Int64 // bytes pion read after the cookie hello went out
}

// probeCookieExchange runs a cookieProbe from ip against to and returns
// once the cookie hello is out; what the node sends afterwards stays in
// the socket (pion read part of it, counted in serverFlightRead).
func probeCookieExchange(t *testing.T, ip netip.Addr, to netip.AddrPort, id *wire.Identity) *cookieProbe {
	t.Helper()
	p := &cookieProbe{probe: probe{name: "ClientHello with cookie", sock: udpOn(t, ip)}}
	c := &silentAfter{sock: p.sock, to: to, pass: 2, p: p}
	ctx, cancel := context.WithCancel(context.Background())
	c.sentCookieHello = cancel
	done := make(chan struct{})
	go func() {
		defer close(done)
		dtls.ClientWithContext(ctx, wire.CookieConn(c), rogueConfig(id, networkName, true)) //nolint:errcheck // cancelled on purpose
	}()
	select {
	case <-ctx.Done():
	case <-testCtx(t).Done():
		t.Fatal("the cookie exchange did not happen")
	}
	<-done
	return p
}

// aLongTimeAgo is a read deadline in the past: it unblocks a pending read.
var aLongTimeAgo = time.Unix(1, 0)

// silentAfter passes the first pass datagrams pion writes to the socket
// and swallows the rest; it counts what the node sends after them.
type silentAfter struct {
	sock *net.UDPConn
	to   netip.AddrPort
	pass int
	p    *cookieProbe

	mu              sync.Mutex
	written         int
	sentCookieHello context.CancelFunc
}

func (c *silentAfter) Write(b []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.written >= c.pass {
		return len(b), nil
	}
	c.written++
	if c.written == c.pass {
		c.p.trigger = append(c.p.trigger, append([]byte(nil), b...))
		defer c.sentCookieHello()
	}
	return c.sock.WriteToUDPAddrPort(b, c.to)
}

func (c *silentAfter) Read(b []byte) (int, error) {
	n, _, err := c.sock.ReadFromUDPAddrPort(b)
	c.mu.Lock()
	if c.written >= c.pass {
		c.p.serverFlightRead.Add(int64(n))
	}
	c.mu.Unlock()
	return n, err
}

// Close leaves the socket open: the test drains it afterwards.
func (c *silentAfter) Close() error { return c.sock.SetReadDeadline(aLongTimeAgo) }

func (c *silentAfter) LocalAddr() net.Addr                { return c.sock.LocalAddr() }
func (c *silentAfter) RemoteAddr() net.Addr               { return net.UDPAddrFromAddrPort(c.to) }
func (c *silentAfter) SetDeadline(d time.Time) error      { return c.sock.SetReadDeadline(d) }
func (c *silentAfter) SetReadDeadline(d time.Time) error  { return c.sock.SetReadDeadline(d) }
func (c *silentAfter) SetWriteDeadline(d time.Time) error { return nil }
