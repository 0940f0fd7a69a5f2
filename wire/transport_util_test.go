package wire

import (
	"context"
	"crypto/x509"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/kadnode/kadnode/kad"
	"github.com/pion/dtls/v2"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// waitTimeout bounds every wait on a condition in these tests; it is a
// hang guard, not a performance threshold.
const waitTimeout = 20 * time.Second

// testNode is a transport on 127.0.0.1 with a recording handler.
type testNode struct {
	*Transport
	served atomic.Int64 // queries that reached the handler
	mu     sync.Mutex
	seen   []kad.Peer // who the handler saw, in order
}

// newTestNode listens on 127.0.0.1 (port 0 unless cfg says otherwise) with
// a fresh identity and limits loose enough for tests; mod adjusts cfg.
func newTestNode(t testing.TB, mod func(*Config)) *testNode {
	t.Helper()
	return newTestNodeVia(t, mod, Listen)
}

// newTestNodeVia is newTestNode with the transport opened by listen.
func newTestNodeVia(t testing.TB, mod func(*Config), listen func(Config) (*Transport, error)) *testNode {
	t.Helper()
	id, err := NewIdentity()
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		Identity:                 id,
		Listen:                   "127.0.0.1:0",
		Network:                  "test",
		HandshakesPerIPPerSecond: -1,
		MaxPendingHandshakes:     4096,
		MaxSessions:              4096,
	}
	if mod != nil {
		mod(&cfg)
	}
	tr, err := listen(cfg)
	if err != nil {
		t.Fatal(err)
	}
	n := &testNode{Transport: tr}
	tr.Serve(n.handle)
	t.Cleanup(func() { tr.Close() })
	return n
}

// handle answers ping and find_node like a node with an empty table would.
func (n *testNode) handle(from kad.Peer, q *krpc.Msg) *krpc.Msg {
	n.served.Add(1)
	n.mu.Lock()
	n.seen = append(n.seen, from)
	n.mu.Unlock()
	switch q.Q {
	case kad.MethodPing:
		return kad.PingReply(n.LocalID(), from.Addr)
	case kad.MethodFindNode:
		return kad.FindNodeReply(n.LocalID(), from.Addr, nil)
	}
	return kad.ErrorReply(krpc.ErrorCodeMethodUnknown, "unknown method")
}

func (n *testNode) lastSeen() kad.Peer {
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.seen) == 0 {
		return kad.Peer{}
	}
	return n.seen[len(n.seen)-1]
}

// ping calls to with a ping query and fails the test on error.
func (n *testNode) ping(t testing.TB, to *testNode, expect *krpc.ID) (kad.Peer, *krpc.Msg) {
	t.Helper()
	p, r, err := n.Call(context.Background(), to.LocalAddr(), expect, kad.PingQuery(n.LocalID(), false))
	if err != nil {
		t.Fatalf("%s calling %s: %v", n.LocalAddr(), to.LocalAddr(), err)
	}
	return p, r
}

// waitFor polls cond until it holds, failing the test after waitTimeout.
// On failure it reports the counters of show.
func waitFor(t testing.TB, what string, cond func() bool, show ...*testNode) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			for _, n := range show {
				t.Logf("%s: %+v", n.LocalAddr(), n.Stats())
			}
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// idle reports whether the transport holds no session and no handshake.
func idle(tr *Transport) bool {
	st := tr.Stats()
	return st.LiveSessions == 0 && st.PendingHandshakes == 0
}

// sessionWith returns the established session with addr, or nil.
func (t *Transport) sessionWith(addr netip.AddrPort) *session {
	t.mu.Lock()
	defer t.mu.Unlock()
	if sl := t.peers[addr]; sl != nil {
		return sl.est
	}
	return nil
}

// closeSessions closes every session, as the reaper would.
func (t *Transport) closeSessions() {
	t.mu.Lock()
	var all []*session
	for _, sl := range t.peers {
		if sl.est != nil {
			all = append(all, sl.est)
		}
	}
	t.mu.Unlock()
	for _, s := range all {
		s.close()
	}
}

// crash closes the transport without telling any peer, like a killed
// process: no close_notify leaves the socket.
func (t *Transport) crash() {
	t.mu.Lock()
	for _, sl := range t.peers {
		for _, s := range []*session{sl.est, sl.hs} {
			if s != nil {
				s.vc.mute.Store(true)
			}
		}
	}
	t.mu.Unlock()
	t.Close()
}

// holdReads makes the read loop wait before routing each datagram until
// the returned release is called.
func (t *Transport) holdReads() (release func()) {
	ch := make(chan struct{})
	t.routeGate.Store(&ch)
	return func() {
		t.routeGate.Store(nil)
		close(ch)
	}
}

// testClock is a clock that stands still, so token buckets never refill.
func testClock() func() time.Time {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	return func() time.Time { return t0 }
}

func idHex(id krpc.ID) string { return fmt.Sprintf("%x", id[:]) }

// helloSent reports whether t is dialling addr and its ClientHello is out.
func (t *Transport) helloSent(addr netip.AddrPort) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	sl := t.peers[addr]
	return sl != nil && sl.hs != nil && sl.hs.client && sl.hs.hasRandom
}

// callAsync runs a ping from n to addr and delivers the outcome on the
// returned channel.
func (n *testNode) callAsync(addr netip.AddrPort) <-chan callResult {
	ch := make(chan callResult, 1)
	go func() {
		p, r, err := n.Call(context.Background(), addr, nil, kad.PingQuery(n.LocalID(), false))
		ch <- callResult{p, r, err}
	}()
	return ch
}

type callResult struct {
	peer  kad.Peer
	reply *krpc.Msg
	err   error
}

// newBenchNode is a transport on 127.0.0.1 that answers pings and records
// nothing, so that it holds no per-query state.
func newBenchNode(b testing.TB) *Transport {
	b.Helper()
	n := newTestNode(b, func(c *Config) {
		c.Network = "bench"
		c.MaxPendingHandshakes, c.MaxSessions = 1<<16, 1<<16
	})
	tr := n.Transport
	tr.Serve(func(from kad.Peer, q *krpc.Msg) *krpc.Msg { return kad.PingReply(tr.LocalID(), from.Addr) })
	return tr
}

// pionConfigs are plain pion configurations like the transport's, for a
// client and a server with their own identities.
func pionConfigs(b testing.TB) (client, server *dtls.Config) {
	b.Helper()
	var cfgs [2]*dtls.Config
	for i := range cfgs {
		id, err := NewIdentity()
		if err != nil {
			b.Fatal(err)
		}
		cfgs[i] = baseDTLSConfig(id, alpnPrefix+"bench")
		cfgs[i].VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error {
			_, err := peerIDFromCerts(raw)
			return err
		}
	}
	return cfgs[0], cfgs[1]
}

// udpPair is two UDP sockets on 127.0.0.1 connected to each other.
func udpPair(b testing.TB) (net.Conn, net.Conn) {
	b.Helper()
	lo := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}
	x, err := net.ListenUDP("udp", lo)
	if err != nil {
		b.Fatal(err)
	}
	y, err := net.DialUDP("udp", lo, x.LocalAddr().(*net.UDPAddr))
	if err != nil {
		b.Fatal(err)
	}
	x.Close()
	x2, err := net.DialUDP("udp", x.LocalAddr().(*net.UDPAddr), y.LocalAddr().(*net.UDPAddr))
	if err != nil {
		b.Fatal(err)
	}
	return x2, y
}

// pionPair runs a plain pion handshake over a fresh UDP pair.
func pionPair(b testing.TB, cfgC, cfgS *dtls.Config) (client, server *dtls.Conn) {
	b.Helper()
	x, y := udpPair(b)
	return pionHandshake(b, x, y, cfgC, cfgS)
}

func pionHandshake(b testing.TB, x, y net.Conn, cfgC, cfgS *dtls.Config) (client, server *dtls.Conn) {
	b.Helper()
	type result struct {
		c   *dtls.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		s, err := dtls.Server(y, cfgS)
		ch <- result{s, err}
	}()
	c, err := dtls.Client(x, cfgC)
	r := <-ch
	if err != nil || r.err != nil {
		b.Fatalf("pion handshake: client %v, server %v", err, r.err)
	}
	return c, r.c
}

func netipAddrOf(a net.Addr) netip.AddrPort {
	return kad.UnmapAddrPort(a.(*net.UDPAddr).AddrPort())
}

// capturedHello is a real ClientHello of a node of network "test", caught
// on a socket that never answers.
func capturedHello(t testing.TB) []byte {
	t.Helper()
	sink := rawSocket(t)
	c := newTestNode(t, func(c *Config) { c.HandshakeTimeout = 100 * time.Millisecond })
	res := c.callAsync(sink.LocalAddr().(*net.UDPAddr).AddrPort())
	buf := make([]byte, socketReadBufferSize)
	if err := sink.SetReadDeadline(time.Now().Add(waitTimeout)); err != nil {
		t.Fatal(err)
	}
	n, _, err := sink.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatal(err)
	}
	<-res
	if Classify(buf[:n]).Kind != KindClientHello {
		t.Fatalf("caught %x, not a ClientHello", buf[:n])
	}
	return buf[:n]
}

// rawSocket is a plain UDP socket on 127.0.0.1, to send what no node would.
func rawSocket(t testing.TB) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// established is the established session with addr, or nil.
func (n *testNode) established(addr netip.AddrPort) *session {
	n.Transport.mu.Lock()
	defer n.Transport.mu.Unlock()
	if sl := n.peers[addr]; sl != nil {
		return sl.est
	}
	return nil
}

// clear forgets every ticket.
func (c *ticketCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.bySession)
	clear(c.byPeer)
	c.order.Init()
}

// proven is how many of c's tickets can be resumed, in either role.
func (c *ticketCache) proven() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.byPeer)
}

// sessionIDs are the session IDs of the tickets c holds.
func (c *ticketCache) sessionIDs() [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	var ids [][]byte
	for id := range c.bySession {
		ids = append(ids, []byte(id))
	}
	return ids
}

// clientStore is a raw pion client's dtls.SessionStore over a ticket
// cache of its own.
type clientStore struct{ c *ticketCache }

func newClientStore() clientStore { return clientStore{newTicketCache(time.Now)} }

// Set keeps a session under pion's client key, which is the server's
// address and "_".
func (m clientStore) Set(key []byte, s dtls.Session) error {
	addr, err := clientKeyAddr(key)
	if err != nil {
		return err
	}
	m.c.put(ticket{sess: s, proven: true, addr: addr})
	return nil
}

func (m clientStore) Get(key []byte) (dtls.Session, error) {
	addr, err := clientKeyAddr(key)
	tk, _ := m.c.forPeer(addr)
	return tk.sess, err
}

func (m clientStore) Del(key []byte) error {
	if addr, err := clientKeyAddr(key); err == nil {
		m.c.removePeer(addr)
	}
	m.c.remove(string(key))
	return nil
}

// clientKeyAddr is the server address in a pion client's session key.
func clientKeyAddr(key []byte) (netip.AddrPort, error) {
	return netip.ParseAddrPort(strings.TrimSuffix(string(key), "_"))
}

// resumedConn reports whether a pion client's handshake was abbreviated:
// the server showed no certificate.
func resumedConn(c *dtls.Conn) bool { return len(c.ConnectionState().PeerCertificates) == 0 }

// mustIdentity is a new node identity.
func mustIdentity(t testing.TB) *Identity {
	t.Helper()
	id, err := NewIdentity()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// closeBoth closes every session of a and b and waits until both hold none.
func closeBoth(t *testing.T, a, b *testNode) {
	t.Helper()
	a.closeSessions()
	b.closeSessions()
	waitFor(t, "both ends to hold no session", func() bool { return idle(a.Transport) && idle(b.Transport) }, a, b)
}

// resumeAndCheck pings callee from caller, expecting its ID, and checks
// that the handshake was resumed at both ends (the first resumption of
// each) and that each end attributes the session to the other.
func resumeAndCheck(t *testing.T, caller, callee *testNode) {
	t.Helper()
	id := callee.LocalID()
	if p, _ := caller.ping(t, callee, &id); p.ID != id {
		t.Fatalf("the resumed session answers as %s, want %s", idHex(p.ID), idHex(id))
	}
	if got := callee.lastSeen(); got.ID != caller.LocalID() {
		t.Fatalf("the callee attributes the resumed session's query to %s, want %s", idHex(got.ID), idHex(caller.LocalID()))
	}
	if rc, rs := caller.Stats().Resumed, callee.Stats().Resumed; rc != 1 || rs != 1 {
		t.Fatalf("resumed handshakes: caller %d, callee %d; want 1 and 1", rc, rs)
	}
}
