package wire

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"time"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/kadnode/kadnode/kad"
	"github.com/pion/dtls/v2"
)

// Call sends a query to addr and waits for its response, opening a session
// first when there is none. With expect set, a peer with another ID fails
// with an *IDMismatchError. A KRPC error reply is returned as a
// *krpc.Error.
//
// A call over an existing session that gets no answer, by RPCTimeout or by
// ctx's deadline, while nothing else arrived on the session either, marks
// the session suspect (the peer may have crashed and restarted): the call
// is retried once over a new handshake if ctx allows, and otherwise the
// next call redials. A call whose session closed under it is retried once
// over a new one: a session closes when a newer one replaces it, when our
// reaper or the session cap closes it, or when the peer's reaper sends
// close_notify at the moment our query leaves; none of these says the
// peer is gone, and a peer that is gone fails the new handshake. Either
// way a call retries at most once.
func (t *Transport) Call(ctx context.Context, addr netip.AddrPort, expect *krpc.ID, q *krpc.Msg) (kad.Peer, *krpc.Msg, error) {
	if q == nil || q.Q == "" {
		return kad.Peer{}, nil, errors.New("wire: Call needs a query with a method")
	}
	addr = kad.UnmapAddrPort(addr)
	if !addr.IsValid() || addr.Port() == 0 {
		return kad.Peer{}, nil, fmt.Errorf("wire: cannot call %s: not a valid address with a port", addr)
	}
	for retried := false; ; retried = true {
		s, fresh, err := t.sessionFor(ctx, addr, expect)
		if err != nil {
			return kad.Peer{}, nil, err
		}
		t.noteUse(ctx, s)
		t.notePrepared(s)
		if expect != nil && s.peerID != *expect {
			return s.peer(), nil, &kad.IDMismatchError{Addr: addr, Expected: *expect, Got: s.peerID}
		}
		sent := time.Now()
		reply, seen, err := s.exchange(ctx, q)
		if err == nil {
			t.floor.observe(time.Since(sent))
		}
		t.retireIfIdle(s)
		retry := false
		switch {
		case err == nil:
		case isNoAnswer(err):
			retry = !fresh && s.noAnswer(seen)
		case errors.Is(err, kad.ErrSessionClosed):
			retry = true
		}
		if retry && !retried && ctx.Err() == nil && !isClosed(t.done) {
			t.log.Debug("call got no answer over its session; retrying over a new one", "peer", addr, "err", err)
			continue
		}
		return s.peer(), reply, err
	}
}

// isNoAnswer reports whether a call's error means the peer did not answer
// in time: our RPC timer or the caller's deadline.
func isNoAnswer(err error) bool {
	var te *kad.RPCTimeoutError
	return errors.As(err, &te) || errors.Is(err, context.DeadlineExceeded)
}

// sessionFor returns the established session with addr, joining or
// starting a handshake when there is none. fresh is true when this call
// started the handshake. When a joined handshake (an inbound one, maybe
// opened by a forged ClientHello) fails, it dials once itself.
func (t *Transport) sessionFor(ctx context.Context, addr netip.AddrPort, expect *krpc.ID) (*session, bool, error) {
	s, fresh, err := t.sessionOnce(ctx, addr, expect)
	if err != nil && !fresh && ctx.Err() == nil && !errors.Is(err, kad.ErrClosed) {
		s, fresh, err = t.sessionOnce(ctx, addr, expect)
	}
	return s, fresh, err
}

func (t *Transport) sessionOnce(ctx context.Context, addr netip.AddrPort, expect *krpc.ID) (*session, bool, error) {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil, false, kad.ErrClosed
	}
	sl := t.peers[addr]
	if sl != nil && sl.est != nil && !sl.est.suspect() {
		s := sl.est
		t.mu.Unlock()
		return s, false, nil
	}
	fresh := false
	var s *session
	if sl != nil && sl.hs != nil {
		s = sl.hs
		if !kad.IsProbe(ctx) {
			s.probeOnly.Store(false)
		}
	} else {
		// A suspect session gets a new handshake beside it, which takes
		// its place when it completes (promote); calls still waiting on
		// it keep going meanwhile.
		redial := sl != nil && sl.est != nil
		if t.pending >= t.cfg.MaxPendingHandshakes || (!redial && !t.makeRoom()) {
			t.stats.handshake(hsLimited)
			t.mu.Unlock()
			return nil, false, &kad.LimitError{What: "handshakes in progress or sessions", Addr: addr}
		}
		s = t.dial(ctx, sl, addr, expect)
		s.probeOnly.Store(kad.IsProbe(ctx))
		fresh = true
	}
	t.mu.Unlock()
	s, err := s.wait(ctx)
	return s, fresh, err
}

// dial starts our handshake with addr in its slot sl (made when nil) and
// counts it as pending; under a transient ctx (kad.Transient) the session
// is transient from the start (retireWith). Called with t.mu held, after
// the limits were checked.
func (t *Transport) dial(ctx context.Context, sl *peerSlot, addr netip.AddrPort, expect *krpc.ID) *session {
	if sl == nil {
		sl = &peerSlot{}
		t.peers[addr] = sl
	}
	s := t.newSession(addr, true, expect, nil)
	sl.hs = s
	t.pending++
	if scope, ok := kad.TransientOf(ctx); ok {
		t.retireWith(s, scope) // its AfterFunc runs on a goroutine of its own
	}
	return s
}

// exchange sends q with a new transaction ID and waits for the matching
// response, at most RPCTimeout. It also returns how many records the
// session had received when q went out, for noAnswer.
func (s *session) exchange(ctx context.Context, q *krpc.Msg) (*krpc.Msg, uint64, error) {
	msg := *q
	msg.Y = krpc.YQuery
	ch := replyChanPool.Get().(chan *krpc.Msg)
	s.rpcMu.Lock()
	s.txSeq++
	var tx [txIDLen]byte
	binary.BigEndian.PutUint32(tx[:], s.txSeq)
	msg.T = string(tx[:])
	s.calls[msg.T] = ch
	s.rpcMu.Unlock()
	defer func() {
		s.forget(msg.T)
		putReplyChan(ch)
	}()

	buf := msgBufPool.Get().(*[]byte)
	b := (*buf)[:0]
	seen := s.recvs.Load()
	if s.client && seen == 0 {
		// Until the server answers, the proof goes in front (proof.go):
		// the record that carried it alone may have been lost.
		b = append(b, s.proof...)
	}
	b, err := kad.AppendMsg(b, &msg)
	if err != nil {
		msgBufPool.Put(buf)
		return nil, 0, err
	}
	s.touch()
	_, err = s.conn.Write(b)
	msgBufPool.Put(buf) // back before the wait for the answer
	if err != nil {
		if isClosed(s.closing) {
			// Closed between the lookup of the session and the send.
			err = kad.ErrSessionClosed
		}
		return nil, seen, fmt.Errorf("sending %s to %s: %w", msg.Q, s.addr, err)
	}
	timer := getTimer(s.t.cfg.RPCTimeout)
	defer putTimer(timer)
	select {
	case r := <-ch:
		if r.Y == krpc.YError {
			return r, seen, r.E
		}
		return r, seen, nil
	case <-timer.C:
		return nil, seen, &kad.RPCTimeoutError{Addr: s.addr, Method: msg.Q, After: s.t.cfg.RPCTimeout}
	case <-ctx.Done():
		return nil, seen, ctx.Err()
	case <-s.closing:
		return nil, seen, fmt.Errorf("%s to %s: %w", msg.Q, s.addr, kad.ErrSessionClosed)
	}
}

func (s *session) forget(tx string) {
	s.rpcMu.Lock()
	delete(s.calls, tx)
	s.rpcMu.Unlock()
}

// readLoop reads one record at a time into buf until the session closes.
func (s *session) readLoop(buf []byte) {
	defer s.close()
	for {
		n, err := s.conn.Read(buf)
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || errors.Is(err, dtls.ErrConnClosed) || isClosed(s.closing) {
				return
			}
			// pion passes non-fatal alerts and a record larger than buf
			// here; the session stays usable.
			s.t.stats.drop(dropDTLSError)
			continue
		}
		s.touch()
		s.recvs.Add(1)
		s.receive(buf[:n])
	}
}

// receive handles one decrypted KRPC message, on the server perhaps
// behind the client's identity proof again.
func (s *session) receive(b []byte) {
	t := s.t
	if proof, rest, ok := splitProof(b); ok {
		if s.client || !bytes.Equal(proof, s.proof) {
			t.stats.drop(dropMalformed)
			return
		}
		if b = rest; len(b) == 0 {
			return
		}
	}
	m, err := kad.DecodeMsg(b)
	if err != nil {
		var me *kad.MalformedError
		switch {
		case errors.Is(err, kad.ErrMessageTooLarge):
			t.stats.drop(dropOversize)
		case errors.As(err, &me):
			t.stats.drop(dropMalformed)
			if me.Query && me.T != "" {
				s.reply(me.T, &krpc.Msg{E: &krpc.Error{Code: me.Code, Msg: me.Reason}})
			}
		default:
			t.stats.drop(dropMalformed)
		}
		return
	}
	switch m.Y {
	case krpc.YQuery:
		s.serve(m)
	case krpc.YResponse:
		if m.R.ID != s.peerID {
			t.stats.drop(dropIDMismatch)
			return
		}
		s.deliver(m)
	case krpc.YError:
		s.deliver(m)
	}
}

func (s *session) deliver(m *krpc.Msg) {
	s.rpcMu.Lock()
	ch := s.calls[m.T]
	delete(s.calls, m.T)
	if ch != nil {
		ch <- m // never blocks: one reply per transaction, buffer 1; under rpcMu for putReplyChan
	}
	s.rpcMu.Unlock()
	if ch == nil {
		s.t.stats.drop(dropUnknownTxID)
	}
}

// serve answers one query: only a sender whose id is its certificate's
// reaches the handler.
func (s *session) serve(q *krpc.Msg) {
	t := s.t
	if q.A.ID != s.peerID {
		t.stats.drop(dropIDMismatch)
		s.reply(q.T, &krpc.Msg{E: &krpc.Error{
			Code: krpc.ErrorCodeProtocolError,
			Msg:  fmt.Sprintf("id %x is not the id of your certificate", q.A.ID[:]),
		}})
		return
	}
	h := t.handler.Load()
	if h == nil {
		s.reply(q.T, &krpc.Msg{E: &krpc.Error{Code: krpc.ErrorCodeServerError, Msg: "not serving queries yet"}})
		return
	}
	if r := (*h)(s.peer(), q); r != nil {
		s.reply(q.T, r)
	}
}

// reply sends r as the answer to transaction tx, setting its T and Y.
func (s *session) reply(tx string, r *krpc.Msg) {
	r.T = tx
	r.Y = krpc.YResponse
	if r.E != nil {
		r.Y = krpc.YError
	}
	buf := msgBufPool.Get().(*[]byte)
	defer msgBufPool.Put(buf)
	b, err := kad.AppendMsg((*buf)[:0], r)
	if err != nil {
		s.t.log.Warn("cannot encode reply", "peer", s.addr, "err", err)
		b, err = kad.AppendMsg((*buf)[:0], &krpc.Msg{T: tx, Y: krpc.YError, E: &krpc.Error{Code: krpc.ErrorCodeServerError, Msg: "reply could not be encoded"}})
		if err != nil {
			return
		}
	}
	s.touch()
	if _, err := s.conn.Write(b); err != nil {
		s.t.log.Debug("cannot send reply", "peer", s.addr, "err", err)
	}
}
