package hostile

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/pion/dtls/v2"
	"github.com/pion/logging"
	"go.uber.org/goleak"

	"github.com/kadnode/kadnode/kad"
	"github.com/kadnode/kadnode/node"
	"github.com/kadnode/kadnode/testnet"
	"github.com/kadnode/kadnode/wire"
)

func TestMain(m *testing.M) {
	if spec := os.Getenv(envChild); spec != "" {
		if err := runChild(spec); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if spec := os.Getenv(envPing); spec != "" {
		if err := runPing(spec); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

// fullSize reports whether the scenarios run at full size.
func fullSize() bool { return os.Getenv(EnvHostile) == "1" }

// long skips a scenario that runs for tens of seconds or more unless
// EnvHostile is set, and always under -short.
func long(t *testing.T) {
	t.Helper()
	if testing.Short() || !fullSize() {
		t.Skipf("long scenario: set %s=1 (make hostile) to run it", EnvHostile)
	}
}

// size is a scenario parameter: light in the regular run, full with
// EnvHostile, and EnvPrefix+name when that is set.
func size(t testing.TB, name string, light, full int) int {
	t.Helper()
	v := light
	if fullSize() {
		v = full
	}
	if s := os.Getenv(EnvPrefix + name); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			t.Fatalf("%s%s=%q: want a positive integer", EnvPrefix, name, s)
		}
		v = n
	}
	return v
}

// duration is size for a length of time, in seconds.
func duration(t testing.TB, name string, light, full time.Duration) time.Duration {
	t.Helper()
	return time.Duration(size(t, name, int(light/time.Second), int(full/time.Second))) * time.Second
}

// hostIP is host i of an address block: 127.0.<block>.<i+2>, so that the
// first host of block 0 is 127.0.0.2 as on a real network segment where .1
// is the gateway.
func hostIP(block, i int) netip.Addr {
	if i < 0 || i >= maxHostsBlock {
		panic(fmt.Sprintf("host %d is outside a block", i))
	}
	return netip.AddrFrom4([4]byte{127, 0, byte(block), byte(i + 2)})
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	t.Cleanup(cancel)
	return ctx
}

// waitFor polls cond until it holds, failing the test after waitTimeout.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	if err := testnet.WaitFor(testCtx(t), cond); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

// target is the node under attack: a one-node network of its own, joined
// at once (it has no seeds), so it inserts authenticated callers.
type target struct {
	*testnet.Node
	net  *testnet.Network
	logs *logRecorder
	// storeMayFail is set by tests that break the disk on purpose: the
	// store's Close then reports the write failure, as it should.
	storeMayFail bool
}

// newTarget starts the node under attack in dir (t.TempDir() when empty).
// nodeMod and wireMod adjust its configuration after the patient defaults.
func newTarget(t testing.TB, dir string, nodeMod func(*node.Config), wireMod func(*wire.Config)) *target {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	logs := &logRecorder{}
	n, err := testnet.New(testnet.Options{
		Dir:     dir,
		Network: networkName,
		Logger:  slog.New(logs),
		Node: func(_ int, c *node.Config) {
			c.RPCTimeout = patientRPCTimeout
			if nodeMod != nil {
				nodeMod(c)
			}
		},
		Wire: func(_ int, c *wire.Config) {
			c.RPCTimeout = patientRPCTimeout
			if wireMod != nil {
				wireMod(c)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	tg := &target{net: n, logs: logs}
	t.Cleanup(func() {
		if err := n.Close(); err != nil && !(tg.storeMayFail && errors.Is(err, kad.ErrStoreFailed)) {
			t.Error(err)
		}
	})
	if tg.Node, err = n.Add(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	return tg
}

// dropped is one of the target transport's drop counters.
func (tg *target) dropped(reason string) uint64 { return tg.Transport().Stats().Dropped[reason] }

// inTable reports whether id is anywhere in the target's table.
func (tg *target) inTable(id krpc.ID) bool {
	for _, c := range tg.Node.Node().Nodes() {
		if c.ID == id {
			return true
		}
	}
	return false
}

// rpcsIn is one of the target's inbound RPC counters.
func (tg *target) rpcsIn(method, outcome string) uint64 {
	return tg.Node.Node().Stats().RPCsIn[method][outcome]
}

// kernelDrops sums, over the UDP sockets bound to addrs, the datagrams
// the kernel dropped because the socket's receive buffer was full (the
// drops column of /proc/net/udp).
func kernelDrops(t *testing.T, addrs ...netip.AddrPort) uint64 {
	t.Helper()
	b, err := os.ReadFile("/proc/net/udp")
	if err != nil {
		t.Logf("no kernel UDP counters: %v", err)
		return 0
	}
	want := map[string]bool{}
	for _, a := range addrs {
		ip := a.Addr().As4()
		// The kernel prints the address as a host-order word.
		want[fmt.Sprintf("%02X%02X%02X%02X:%04X", ip[3], ip[2], ip[1], ip[0], a.Port())] = true
	}
	var sum uint64
	for _, line := range strings.Split(string(b), "\n")[1:] {
		fields := strings.Fields(line)
		if len(fields) < 2 || !want[fields[1]] {
			continue
		}
		n, err := strconv.ParseUint(fields[len(fields)-1], 10, 64)
		if err != nil {
			t.Fatalf("/proc/net/udp line %q: %v", line, err)
		}
		sum += n
	}
	return sum
}

// logRecorder is a slog handler that keeps every record, so tests can
// count what a node logged.
type logRecorder struct {
	mu      sync.Mutex
	records []slog.Record
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logRecorder) WithGroup(string) slog.Handler            { return l }

func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	l.records = append(l.records, r.Clone())
	l.mu.Unlock()
	return nil
}

// atLeast returns the messages of records at level or above, with their
// attributes.
func (l *logRecorder) atLeast(level slog.Level) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, r := range l.records {
		if r.Level < level {
			continue
		}
		s := r.Message
		r.Attrs(func(a slog.Attr) bool {
			s += " " + a.String()
			return true
		})
		out = append(out, s)
	}
	return out
}

// peer is an honest kadnode peer outside the target's network harness,
// on an address of the caller's choice: a transport and a node without a
// store.
type peer struct {
	tr *wire.Transport
	nd *node.Node
}

// newPeer starts a peer at ip, joined through seeds (none: joined at
// once), closed when the test ends.
func newPeer(t testing.TB, ip netip.Addr, mod func(*node.Config), seeds ...kad.Endpoint) *peer {
	t.Helper()
	p, err := startPeer(ip, mod, seeds...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.close)
	return p
}

// startPeer is newPeer for goroutines other than the test's; the caller
// closes the peer.
func startPeer(ip netip.Addr, mod func(*node.Config), seeds ...kad.Endpoint) (*peer, error) {
	id, err := wire.NewIdentity()
	if err != nil {
		return nil, err
	}
	tr, err := wire.Listen(wire.Config{
		Identity: id, Network: networkName, Listen: netip.AddrPortFrom(ip, 0).String(),
		RPCTimeout: patientRPCTimeout,
	})
	if err != nil {
		return nil, err
	}
	nc := node.Config{RPCTimeout: patientRPCTimeout, Seeds: seeds}
	if mod != nil {
		mod(&nc)
	}
	nd, err := node.New(nc, tr, nil)
	if err != nil {
		return nil, errors.Join(err, tr.Close())
	}
	nd.Start()
	return &peer{tr: tr, nd: nd}, nil
}

func (p *peer) close() {
	p.nd.Close()
	p.tr.Close()
}

// udpOn opens a UDP socket on ip (any port), closed when the test ends.
func udpOn(t testing.TB, ip netip.Addr) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, 0)))
	if err != nil {
		t.Fatalf("binding a socket to %s (all of 127.0.0.0/8 must be on lo): %v", ip, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// drain reads every datagram already queued on c and returns how many
// there were and their total size.
func drain(c *net.UDPConn) (datagrams, bytes int) {
	buf := make([]byte, readBufferSize)
	for {
		c.SetReadDeadline(time.Now().Add(drainWait))
		n, _, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			return datagrams, bytes
		}
		datagrams++
		bytes += n
	}
}

// quietPion keeps pion's own logging off the test output.
var quietPion = &logging.DefaultLoggerFactory{DefaultLogLevel: logging.LogLevelDisabled}

// rogueConfig is the DTLS client configuration of an attacker that
// speaks raw DTLS with identity id, offering network's ALPN when
// withALPN is set.
func rogueConfig(id *wire.Identity, network string, withALPN bool) *dtls.Config {
	cfg := &dtls.Config{
		Certificates:         []tls.Certificate{id.Cert},
		ExtendedMasterSecret: dtls.RequireExtendedMasterSecret,
		InsecureSkipVerify:   true,
		LoggerFactory:        quietPion,
	}
	if withALPN {
		cfg.SupportedProtocols = []string{alpnPrefix + network}
	}
	return cfg
}

// recordingConn is a connected UDP socket that keeps a copy of every
// datagram written through it, so that a test can replay them.
type recordingConn struct {
	*net.UDPConn
	mu   sync.Mutex
	sent [][]byte
}

func (c *recordingConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	c.sent = append(c.sent, slices.Clone(b))
	c.mu.Unlock()
	return c.UDPConn.Write(b)
}

// written returns the datagrams written so far.
func (c *recordingConn) written() [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.sent)
}

// rogue is an authenticated peer that speaks raw DTLS, so it can put any
// bytes in its session: forged ids, unsolicited responses, replays.
type rogue struct {
	id   *wire.Identity
	addr netip.AddrPort
	sock *recordingConn
	conn *dtls.Conn
}

// dialRogue completes a DTLS handshake from ip to the target.
func dialRogue(t testing.TB, ip netip.Addr, to netip.AddrPort) *rogue {
	t.Helper()
	id, err := wire.NewIdentity()
	if err != nil {
		t.Fatal(err)
	}
	udp, err := net.DialUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, 0)), net.UDPAddrFromAddrPort(to))
	if err != nil {
		t.Fatal(err)
	}
	sock := &recordingConn{UDPConn: udp}
	conn, err := dtls.ClientWithContext(testCtx(t), wire.CookieConn(sock), rogueConfig(id, networkName, true))
	if err != nil {
		udp.Close()
		t.Fatalf("rogue handshake from %s: %v", ip, err)
	}
	if err := wire.ProveIdentity(conn, id); err != nil {
		t.Fatalf("rogue identity proof from %s: %v", ip, err)
	}
	r := &rogue{id: id, addr: udp.LocalAddr().(*net.UDPAddr).AddrPort(), sock: sock, conn: conn}
	t.Cleanup(func() { conn.Close() })
	return r
}

// send writes m, as it is, into the session.
func (r *rogue) send(t testing.TB, m *krpc.Msg) {
	t.Helper()
	b, err := kad.EncodeMsg(m)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.conn.Write(b); err != nil {
		t.Fatal(err)
	}
}

// recv reads the next message of the session.
func (r *rogue) recv(t testing.TB) *krpc.Msg {
	t.Helper()
	buf := make([]byte, readBufferSize)
	r.conn.SetReadDeadline(time.Now().Add(waitTimeout))
	n, err := r.conn.Read(buf)
	r.conn.SetReadDeadline(time.Time{}) // stops pion's deadline goroutine
	if err != nil {
		t.Fatalf("rogue %s reading: %v", r.addr, err)
	}
	m, err := kad.DecodeMsg(buf[:n])
	if err != nil {
		t.Fatalf("rogue %s got an undecodable message: %v", r.addr, err)
	}
	return m
}

// query sends q with transaction ID tx and returns the next message.
func (r *rogue) query(t testing.TB, tx string, q *krpc.Msg) *krpc.Msg {
	t.Helper()
	m := *q
	m.T, m.Y = tx, krpc.YQuery
	r.send(t, &m)
	return r.recv(t)
}

// captureConn is a net.Conn for pion that keeps what pion writes and
// never delivers anything, to capture a client's first flight.
type captureConn struct {
	writes chan []byte
	closed chan struct{}
	once   sync.Once
}

func newCaptureConn() *captureConn {
	return &captureConn{writes: make(chan []byte, 16), closed: make(chan struct{})}
}

func (c *captureConn) Write(b []byte) (int, error) {
	select {
	case c.writes <- slices.Clone(b):
	default:
	}
	return len(b), nil
}

func (c *captureConn) Read([]byte) (int, error) {
	<-c.closed
	return 0, net.ErrClosed
}

func (c *captureConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return nil
}

var captureAddr = &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9}

func (c *captureConn) LocalAddr() net.Addr              { return captureAddr }
func (c *captureConn) RemoteAddr() net.Addr             { return captureAddr }
func (c *captureConn) SetDeadline(time.Time) error      { return nil }
func (c *captureConn) SetReadDeadline(time.Time) error  { return nil }
func (c *captureConn) SetWriteDeadline(time.Time) error { return nil }

// clientHello returns the first datagram a pion client with the given
// configuration sends: one unfragmented ClientHello without a cookie.
func clientHello(t testing.TB, cfg *dtls.Config) []byte {
	t.Helper()
	c := newCaptureConn()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		dtls.ClientWithContext(ctx, c, cfg) //nolint:errcheck // ends with ctx
	}()
	var hello []byte
	select {
	case hello = <-c.writes:
	case <-time.After(waitTimeout):
	}
	cancel()
	c.Close()
	<-done
	if d := wire.Classify(hello); d.Kind != wire.KindClientHello {
		t.Fatalf("captured datagram is a %v, want a ClientHello", d.Kind)
	}
	return hello
}

// withRandom returns a copy of hello with ClientHello.random replaced, so
// that the node takes it for a new handshake.
func withRandom(hello []byte, random [32]byte) []byte {
	out := slices.Clone(hello)
	copy(out[helloRandomOffset:], random[:])
	return out
}

// liveHeap returns the bytes of live heap objects after two collections
// (the second empties the sync.Pools that survived the first).
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// mib formats a byte count in MiB.
func mib(b uint64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// signedMiB formats a byte difference in MiB.
func signedMiB(a, b uint64) string { return fmt.Sprintf("%+.1f MiB", (float64(a)-float64(b))/(1<<20)) }

// gcLiveHeap is the heap the last GC cycle found live, read without
// forcing a collection, so that sampling does not change what it samples.
func gcLiveHeap() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}
