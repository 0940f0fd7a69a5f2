package wire

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/kadnode/kadnode/kad"
)

// Config configures a Transport; zero values take the defaults in constants.go.
type Config struct {
	Identity *Identity
	Network  string // network name; peers of another network fail the handshake
	Listen   string // UDP address to bind, e.g. "127.0.0.1:0"

	HandshakeTimeout     time.Duration
	IdleTimeout          time.Duration
	RPCTimeout           time.Duration
	MaxSessions          int
	MaxPendingHandshakes int
	// HandshakesPerIPPerSecond limits new inbound handshakes per source IP
	// (burst: twice the rate); negative disables the limit.
	HandshakesPerIPPerSecond float64
	PeerQueueLen             int
	// SocketBuffer is the size asked for the socket's kernel receive and
	// send buffers; the kernel caps it at net.core.rmem_max / wmem_max.
	SocketBuffer int
	Logger       *slog.Logger
	// Now is the clock for idle and rate-limit decisions; nil is time.Now.
	Now func() time.Time
	// TransientIdleTimeout replaces IdleTimeout for sessions that only
	// lookups to nodes outside the table used (see Transient).
	TransientIdleTimeout time.Duration
	// PrepareMinRTT is the smallest query round trip over established
	// sessions lately (the floor) from which Prepare starts handshakes: 0
	// takes DefaultPrepareMinRTT, negative prepares on any path.
	PrepareMinRTT time.Duration
	// WrapSocket, when set, is given the bound socket once it is tuned,
	// and the transport then reads and writes only through what it
	// returns: a harness's delay line between nodes of one process.
	WrapSocket func(*net.UDPConn) Socket
}

func (c Config) withDefaults() Config {
	if c.Network == "" {
		c.Network = DefaultNetwork
	}
	if c.Listen == "" {
		c.Listen = ":0"
	}
	if c.HandshakeTimeout <= 0 {
		c.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.TransientIdleTimeout <= 0 {
		c.TransientIdleTimeout = DefaultTransientIdleTimeout
	}
	if c.RPCTimeout <= 0 {
		c.RPCTimeout = DefaultRPCTimeout
	}
	if c.MaxSessions <= 0 {
		c.MaxSessions = DefaultMaxSessions
	}
	if c.MaxPendingHandshakes <= 0 {
		c.MaxPendingHandshakes = DefaultMaxPendingHandshakes
	}
	if c.HandshakesPerIPPerSecond == 0 {
		c.HandshakesPerIPPerSecond = DefaultHandshakesPerIPPerSecond
	}
	if c.PeerQueueLen <= 0 {
		c.PeerQueueLen = DefaultPeerQueueLen
	}
	if c.SocketBuffer <= 0 {
		c.SocketBuffer = DefaultSocketBuffer
	}
	if c.PrepareMinRTT == 0 {
		c.PrepareMinRTT = DefaultPrepareMinRTT
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Transport is one UDP socket that is DTLS client and server at once. The
// read loop routes each datagram by source address to that peer's session;
// every session is a pion DTLS conn over a virtual conn fed by that loop.
type Transport struct {
	cfg     Config
	id      *Identity
	alpn    string
	sock    Socket
	local   netip.AddrPort
	log     *slog.Logger
	handler atomic.Pointer[kad.Handler]
	stats   counters
	floor   rttFloor // of queries over established sessions, for Prepare

	// Resumable sessions (tickets.go), of both roles, with the other
	// end's proven ID.
	tickets *ticketCache

	mu      sync.Mutex
	peers   map[netip.AddrPort]*peerSlot
	pending int // sessions in a handshake (peerSlot.hs)
	live    int // established sessions (peerSlot.est)
	limiter ipLimiter
	cookies cookieJar
	closed  bool

	done chan struct{} // closed by Close
	wg   sync.WaitGroup

	// routeGate, when set, holds the read loop until the channel closes;
	// only tests set it.
	routeGate atomic.Pointer[chan struct{}]
	// loss, when set, drops the outgoing datagrams it picks; only tests
	// set it.
	loss atomic.Pointer[func(to netip.AddrPort, b []byte) bool]
}

// peerSlot is what the transport holds for one remote address: at most one
// established session and at most one handshake in progress (a dial, an
// inbound handshake, or a candidate that replaces est when the peer
// restarted).
type peerSlot struct {
	est *session
	hs  *session
	// lostRandom is the ClientHello random of the peer's dial that lost the
	// simultaneous-open tie-break; late copies of it are dropped.
	lostRandom [helloRandomLen]byte
}

// Listen binds the socket and starts the read loop.
func Listen(cfg Config) (*Transport, error) {
	if cfg.Identity == nil {
		return nil, errors.New("wire: Config.Identity is nil; load one with LoadOrCreateIdentity or make one with NewIdentity")
	}
	cfg = cfg.withDefaults()
	laddr, err := net.ResolveUDPAddr("udp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen address %q: %w; give host:port, e.g. --listen 0.0.0.0:6881", cfg.Listen, err)
	}
	sock, err := net.ListenUDP("udp", laddr)
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, fmt.Errorf("cannot listen on UDP %s: the port is in use (is another kadnode running?); "+
			"pick another with --listen host:port, or port 0 for any free port: %w", cfg.Listen, err)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot listen on UDP %s: %w", cfg.Listen, err)
	}
	tuneSocket(sock, cfg.SocketBuffer, cfg.Logger)
	var s Socket = sock
	if cfg.WrapSocket != nil {
		s = cfg.WrapSocket(sock)
	}
	t := &Transport{
		cfg:     cfg,
		id:      cfg.Identity,
		alpn:    alpnPrefix + cfg.Network,
		sock:    s,
		local:   kad.UnmapAddrPort(sock.LocalAddr().(*net.UDPAddr).AddrPort()),
		log:     cfg.Logger,
		peers:   make(map[netip.AddrPort]*peerSlot),
		limiter: newIPLimiter(cfg.HandshakesPerIPPerSecond),
		done:    make(chan struct{}),
	}
	t.tickets = newTicketCache(cfg.Now)
	t.wg.Add(1)
	go t.readLoop()
	return t, nil
}

// Serve installs the inbound query handler. It runs on the session's
// reader, one query at a time per peer, so it must not wait for a Call to
// the peer that sent the query.
func (t *Transport) Serve(h kad.Handler) { t.handler.Store(&h) }

// LocalID is this node's ID.
func (t *Transport) LocalID() krpc.ID { return t.id.ID }

// LocalAddr is the bound address.
func (t *Transport) LocalAddr() netip.AddrPort { return t.local }

// Close stops every goroutine and closes the socket. Established sessions
// get a close_notify, so their peers drop them at once.
func (t *Transport) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	var all []*session
	for _, sl := range t.peers {
		if sl.est != nil {
			all = append(all, sl.est)
		}
		if sl.hs != nil {
			all = append(all, sl.hs)
		}
	}
	t.mu.Unlock()
	close(t.done)
	for _, s := range all {
		s.close()
	}
	err := t.sock.Close()
	t.wg.Wait()
	return err
}

// detach removes s from its peer slot. Called with t.mu held.
func (t *Transport) detach(s *session) {
	sl := t.peers[s.addr]
	if sl == nil {
		return
	}
	if sl.est == s {
		sl.est = nil
		t.live--
	}
	if sl.hs == s {
		sl.hs = nil
		t.pending--
	}
	if sl.est == nil && sl.hs == nil {
		delete(t.peers, s.addr)
	}
}

// closeAsync closes s off the caller's goroutine (the read loop must not
// wait for pion). Called with t.mu held; s is detached at once.
func (t *Transport) closeAsync(s *session) {
	t.detach(s)
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		s.close()
	}()
}
