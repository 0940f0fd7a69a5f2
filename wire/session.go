package wire

import (
	"bytes"
	"context"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/kadnode/kadnode/kad"
	"github.com/pion/dtls/v2"
)

// session is one DTLS association with one peer address. Its goroutine runs
// the handshake and then reads records until the session closes.
type session struct {
	t      *Transport
	addr   netip.AddrPort
	vc     *vconn
	client bool
	expect *krpc.ID // client only: the ID the peer must have

	// Guarded by t.mu.
	random    [helloRandomLen]byte // ClientHello random: ours (client) or the peer's (server)
	hasRandom bool
	// next is the session that took over when this one was superseded
	// before its handshake ended; nil otherwise.
	next *session
	conn *dtls.Conn
	// Server only: pionDone is set once pion's handshake has finished;
	// until then the mux holds application data in early (holdEarly).
	pionDone bool
	early    [][]byte
	// peerCCS is set once a datagram with the peer's ChangeCipherSpec was
	// handed to this handshake; records of a later epoch wait for it.
	peerCCS bool
	// beforeCCS are handshake records of a later epoch that came before
	// the peer's ChangeCipherSpec (holdBeforeCCS).
	beforeCCS [][]byte
	// Client only: lastFlight is our last handshake flight as pion wrote
	// it, from its ChangeCipherSpec on, and flightResends how often the
	// mux sent it again (resendLastFlight).
	lastFlight    [][]byte
	flightResends int

	hsCtx    context.Context
	hsCancel context.CancelFunc

	doneOnce sync.Once
	done     chan struct{} // closed when the handshake ended (or was superseded)
	err      error         // why the handshake failed; read after done

	verifyErr error    // set by the certificate check, preferred over pion's error
	certID    *krpc.ID // client: the ID the server's certificate proved
	// ticketUsed is set when pion took a ticket to resume (tickets.go);
	// ticketPeer is the ID kept with it. Written by pion's
	// handshake, read after it ended.
	ticketUsed bool
	ticketPeer krpc.ID
	// proof is the client's identity proof (proof.go): on the client, the
	// one it sends in front of its queries until the server answers; on
	// the server, the one it checked, which may come again.
	proof       []byte
	peerID      krpc.ID // from the certificate or the proof; read after done
	established atomic.Bool
	lastUse     atomic.Int64  // unix nanoseconds of the last record in or out
	recvs       atomic.Uint64 // records decrypted on this session
	// silentAt is recvs+1 as it was when a call on this session got no
	// answer and nothing else had arrived since it was sent; 0 when that
	// never happened. See suspect.
	silentAt atomic.Uint64
	// transient is set while only transient calls (kad.Transient) have
	// used the session; retiring holds the end of their scope until the
	// session is idle (transient.go).
	transient atomic.Bool
	retiring  atomic.Pointer[retirement]
	// prepared is set on a session Prepare opened until a call uses it.
	prepared atomic.Bool
	// probeOnly is set while only probe calls (kad.Probe) wait on the
	// handshake: its timeout is then counted as probe_timeout.
	probeOnly atomic.Bool

	closeOnce sync.Once
	closing   chan struct{}

	rpcMu sync.Mutex
	calls map[string]chan *krpc.Msg // by transaction ID
	txSeq uint32
}

// newSession creates a session and starts its handshake. Called with t.mu
// held, after the limits were checked; first is the ClientHello that
// opens an inbound session. The caller puts it in its slot (and counts it
// in t.pending when it does not take over another handshake's place).
func (t *Transport) newSession(addr netip.AddrPort, client bool, expect *krpc.ID, first []byte) *session {
	s := &session{
		t:       t,
		addr:    addr,
		vc:      newVconn(t.sock, addr, t.cfg.PeerQueueLen),
		client:  client,
		expect:  expect,
		done:    make(chan struct{}),
		closing: make(chan struct{}),
		calls:   make(map[string]chan *krpc.Msg),
	}
	s.vc.loss = &t.loss
	s.hsCtx, s.hsCancel = context.WithTimeout(context.Background(), t.cfg.HandshakeTimeout)
	s.touch()
	if client {
		s.vc.onWrite = s.noteClientWrite
		s.vc.cookie = &helloCookie{}
	} else {
		s.vc.deliver(first)
	}
	t.wg.Add(1)
	go s.run()
	return s
}

// noteClientWrite records our ClientHello random for the tie-break and
// silences a client that lost it.
func (s *session) noteClientWrite(b []byte) bool {
	if s.established.Load() {
		return true
	}
	s.t.mu.Lock()
	defer s.t.mu.Unlock()
	if s.next != nil {
		return false
	}
	switch {
	case len(b) == 0:
	case b[0] == contentChangeCipherSpec:
		s.lastFlight = append(s.lastFlight[:0], bytes.Clone(b))
	case b[0] == contentHandshake && len(s.lastFlight) > 0:
		s.lastFlight = append(s.lastFlight, bytes.Clone(b))
	}
	if !s.hasRandom {
		if d := Classify(b); d.Kind == KindClientHello {
			s.random, s.hasRandom = d.Random, true
		}
	}
	return true
}

// supersede hands the slot's handshake over from old to next: waiters on
// old follow next. Called with t.mu held; the pending count is unchanged.
func (t *Transport) supersede(sl *peerSlot, old, next *session, why handshakeOutcome) {
	old.next = next
	sl.hs = next
	old.vc.mute.Store(true)
	old.hsCancel()
	old.finish(nil)
	t.stats.handshake(why)
}

func (s *session) finish(err error) {
	s.doneOnce.Do(func() {
		s.err = err
		close(s.done)
	})
}

// wait blocks until the handshake ended, following supersessions, and
// returns the session that carries the association.
func (s *session) wait(ctx context.Context) (*session, error) {
	for {
		select {
		case <-s.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		s.t.mu.Lock()
		next := s.next
		s.t.mu.Unlock()
		if next == nil {
			break
		}
		s = next
	}
	if s.err != nil {
		return nil, s.err
	}
	return s, nil
}

// close ends the session: detached from its slot, pion closed (sending
// close_notify when established), pending calls failed. Idempotent.
func (s *session) close() {
	s.closeOnce.Do(func() {
		s.t.mu.Lock()
		s.t.detach(s)
		conn := s.conn
		s.t.mu.Unlock()
		close(s.closing)
		s.hsCancel()
		if conn != nil {
			s.vc.closing.Store(true)
			conn.Close()
		}
		s.vc.Close()
	})
}

// noAnswer records that a call sent when s had received seen records got
// no answer, and reports whether the session is now suspect.
func (s *session) noAnswer(seen uint64) bool {
	if s.recvs.Load() == seen {
		s.silentAt.Store(seen + 1)
	}
	return s.suspect()
}

// suspect reports whether a call on s went unanswered and nothing has
// arrived on s since: the peer may have restarted and lost the session's
// keys (a crash sends no close_notify), so the next call redials instead
// of waiting on s again. Any record that arrives later clears it.
func (s *session) suspect() bool {
	m := s.silentAt.Load()
	return m != 0 && m-1 == s.recvs.Load()
}

func (s *session) touch() { s.lastUse.Store(s.t.cfg.Now().UnixNano()) }

func (s *session) idleSince(cutoff int64) bool {
	return s.lastUse.Load() < cutoff && s.inFlight() == 0
}

func (s *session) inFlight() int {
	s.rpcMu.Lock()
	defer s.rpcMu.Unlock()
	return len(s.calls)
}

func (s *session) peer() kad.Peer { return kad.Peer{ID: s.peerID, Addr: s.addr} }
