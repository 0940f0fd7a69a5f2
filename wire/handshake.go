package wire

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/kadnode/kadnode/kad"
	"github.com/pion/dtls/v2"
	"github.com/pion/logging"
)

// quietLogs keeps pion from writing to stderr; outcomes are counted and
// logged by the transport instead.
var quietLogs = &logging.DefaultLoggerFactory{DefaultLogLevel: logging.LogLevelDisabled}

// dtlsConfig is the pion configuration of one handshake. The server
// presents its self-signed certificate; the client proves its key inside
// the session (proof.go), so that the server can keep the session for
// resumption (tickets.go). A node is its key, so no chain is verified:
// the ID is derived from the key the peer proved it holds.
func (t *Transport) dtlsConfig(s *session) *dtls.Config {
	cfg := baseDTLSConfig(t.id, t.alpn)
	cfg.LoggerFactory = pionLogs{&t.stats}
	cfg.InsecureSkipVerifyHello = !s.client // the mux checked the cookie (cookie.go)
	cfg.SessionStore = sessionTickets{s}
	cfg.VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error {
		id, err := peerIDFromCerts(raw)
		if err == nil {
			s.certID = &id
			if s.expect != nil && id != *s.expect {
				err = &kad.IDMismatchError{Addr: s.addr, Expected: *s.expect, Got: id}
			}
		}
		s.verifyErr = err
		return err
	}
	return cfg
}

// baseDTLSConfig is the part of the configuration that does not depend on
// the session; it serves for both roles.
func baseDTLSConfig(id *Identity, alpn string) *dtls.Config {
	return &dtls.Config{
		Certificates:         []tls.Certificate{id.Cert},
		ExtendedMasterSecret: dtls.RequireExtendedMasterSecret,
		SupportedProtocols:   []string{alpn},
		MTU:                  dtlsMTU,
		LoggerFactory:        quietLogs,
		InsecureSkipVerify:   true,
		ClientAuth:           dtls.NoClientCert, // the client proves its key in-band (proof.go)
		EllipticCurves:       keyExchangeCurves,
	}
}

func peerIDFromCerts(raw [][]byte) (krpc.ID, error) {
	if len(raw) == 0 {
		return krpc.ID{}, errors.New("peer sent no certificate")
	}
	c, err := x509.ParseCertificate(raw[0])
	if err != nil {
		return krpc.ID{}, fmt.Errorf("peer certificate does not parse: %w", err)
	}
	if _, ok := c.PublicKey.(ed25519.PublicKey); !ok {
		return krpc.ID{}, fmt.Errorf("peer certificate has a %T key, want Ed25519", c.PublicKey)
	}
	return IDFromCert(c), nil
}

// run is the session's goroutine: the handshake, the identity proof, then
// the record reader.
func (s *session) run() {
	defer s.t.wg.Done()
	cfg := s.t.dtlsConfig(s)
	var dc *dtls.Conn
	var err error
	if s.client {
		dc, err = dtls.ClientWithContext(s.hsCtx, s.vc, cfg)
	} else {
		dc, err = dtls.ServerWithContext(s.hsCtx, s.vc, cfg)
	}
	if !s.client {
		s.releaseEarly() // on failure too: nothing is held for a dead session
	}
	var buf, first []byte // first: the server's message that came with the proof, in buf
	if err == nil {
		// One read buffer serves the proof and then the record reader.
		buf = make([]byte, sessionReadBufferSize)
		first, err = s.establish(dc, buf)
	}
	timedOut := errors.Is(s.hsCtx.Err(), context.DeadlineExceeded)
	s.hsCancel()
	if err != nil {
		if dc != nil {
			dc.Close()
		}
		s.vc.Close()
		s.t.handshakeFailed(s, err, timedOut)
		return
	}
	old, ok := s.t.promote(s, dc)
	if !ok {
		s.vc.mute.Store(true)
		dc.Close()
		s.vc.Close()
		return
	}
	if old != nil {
		old.close()
	}
	s.t.retireIfIdle(s) // its scope may have ended during the handshake
	if len(first) > 0 {
		s.receive(first) // before readLoop reads into buf again
	}
	s.readLoop(buf)
}

// establish ends a completed DTLS handshake: the client checks whose the
// session is and sends its proof; the server waits for that proof. The
// server reads the proof into buf and returns the message that came with
// it, if any.
func (s *session) establish(dc *dtls.Conn, buf []byte) ([]byte, error) {
	st := dc.ConnectionState()
	if !s.client {
		return s.readProof(dc, &st, buf)
	}
	if err := s.checkServer(&st); err != nil {
		return nil, err
	}
	proof, err := makeProof(s.t.id.Key, &st)
	if err != nil {
		return nil, err
	}
	s.proof = proof
	if _, err := dc.Write(proof); err != nil {
		return nil, fmt.Errorf("sending the identity proof to %s: %w", s.addr, err)
	}
	if s.ticketUsed && len(st.PeerCertificates) == 0 {
		s.t.stats.resumed.Add(1)
	}
	return nil, nil
}

// checkServer re-checks what the callbacks checked, from the state pion
// reports, and records the server's ID: from its certificate, or, when
// the session was resumed and none was shown, from the ticket.
func (s *session) checkServer(st *dtls.State) error {
	// pion's State drops NegotiatedProtocol when it copies the state, so
	// the network is enforced by ALPN negotiation itself (a mismatch is a
	// no_application_protocol alert) and by the mux refusing a ClientHello
	// without ALPN.
	var id krpc.ID
	if len(st.PeerCertificates) == 0 && s.ticketUsed {
		id = s.ticketPeer
	} else {
		var err error
		if id, err = peerIDFromCerts(st.PeerCertificates); err != nil {
			return err
		}
	}
	if s.expect != nil && id != *s.expect {
		return &kad.IDMismatchError{Addr: s.addr, Expected: *s.expect, Got: id}
	}
	s.peerID = id
	return nil
}

// readProof waits, within the handshake's time, for the client's first
// record, checks the identity proof it starts with and records the
// client's ID. It returns what followed the proof in that record, in buf.
func (s *session) readProof(dc *dtls.Conn, st *dtls.State, buf []byte) ([]byte, error) {
	// The handshake's context bounds the wait: its deadline, or a newer
	// handshake that superseded this one, unblocks the read.
	stop := context.AfterFunc(s.hsCtx, func() { dc.SetReadDeadline(time.Unix(1, 0)) })
	n, err := dc.Read(buf)
	if !stop() {
		return nil, fmt.Errorf("no identity proof from %s within the handshake: %w", s.addr, s.hsCtx.Err())
	}
	if err != nil {
		return nil, fmt.Errorf("waiting for the identity proof of %s: %w", s.addr, err)
	}
	s.recvs.Add(1)
	proof, rest, ok := splitProof(buf[:n])
	if !ok {
		return nil, fmt.Errorf("%s: %w", s.addr, errNoProof)
	}
	id, err := s.clientID(st, proof)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.addr, err)
	}
	s.peerID, s.proof = id, bytes.Clone(proof)
	if s.ticketUsed {
		s.t.stats.resumed.Add(1)
	}
	return rest, nil
}

// clientID is the ID the client's proof proves. A full handshake's proof
// is verified, and the ID kept with the session's ticket. A resumed
// session's client knows the master secret of the full handshake on which
// that ID was proven, which only the node that proved it does; its proof
// must name the same key, and its signature is not checked again.
func (s *session) clientID(st *dtls.State, proof []byte) (krpc.ID, error) {
	if s.ticketUsed {
		id, err := proofKeyID(proof)
		if err == nil && id != s.ticketPeer {
			err = fmt.Errorf("the identity proof on a resumed session names %x, but the session was proven by %x", id, s.ticketPeer)
		}
		return id, err
	}
	ekm, err := proofKeyingMaterial(st)
	if err != nil {
		return krpc.ID{}, fmt.Errorf("exporting keying material to check the identity proof: %w", err)
	}
	id, err := checkProof(proof, ekm)
	if err == nil {
		s.t.tickets.prove(string(st.SessionID), id)
	}
	return id, err
}

// promote makes s the established session of its slot, returning the one
// it replaces. It reports false when s was superseded or closed meanwhile.
func (t *Transport) promote(s *session, dc *dtls.Conn) (*session, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	sl := t.peers[s.addr]
	if t.closed || s.next != nil || sl == nil || sl.hs != s {
		return nil, false
	}
	sl.hs = nil
	t.pending--
	old := sl.est
	if old == nil {
		t.live++
	} else {
		old.vc.mute.Store(true)
	}
	sl.est = s
	s.conn = dc
	s.established.Store(true)
	s.touch()
	t.stats.handshake(hsOK)
	s.finish(nil)
	return old, true
}

// handshakeFailed detaches a failed handshake and tells its waiters why.
func (t *Transport) handshakeFailed(s *session, err error, timedOut bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s.next != nil {
		return // superseded: the waiters already moved on
	}
	if sl := t.peers[s.addr]; s.client && sl != nil && sl.est != nil && sl.est.suspect() && !t.closed {
		// Our redial of a session that went silent failed: the peer is
		// gone, or is another node now. Calls still waiting on the old
		// session would only time out.
		t.closeAsync(sl.est)
	}
	t.detach(s)
	if s.verifyErr != nil {
		err = s.verifyErr
	}
	var idErr *kad.IDMismatchError
	var netErr *kad.NetworkMismatchError
	switch {
	case errors.As(err, &idErr):
		t.stats.handshake(hsIDMismatch)
	case errors.As(err, &netErr) || isNoALPN(err):
		t.stats.handshake(hsNetworkMismatch)
		if netErr == nil {
			err = &kad.NetworkMismatchError{Addr: s.addr, Network: t.cfg.Network}
		}
	case timedOut:
		if s.probeOnly.Load() {
			t.stats.handshake(hsProbeTimeout)
		} else {
			t.stats.handshake(hsTimeout)
		}
		err = &kad.HandshakeTimeoutError{Addr: s.addr, After: t.cfg.HandshakeTimeout}
	case t.closed:
		err = kad.ErrClosed
	default:
		t.stats.handshake(hsFailed)
		err = fmt.Errorf("DTLS handshake with %s failed: %w", s.addr, err)
	}
	t.log.Debug("handshake failed", "peer", s.addr, "client", s.client, "err", err)
	s.finish(err)
}

// isNoALPN recognises pion's refusal of our ALPN protocol, on either side:
// the server fails with "no application protocol", the client receives a
// no_application_protocol alert. pion exports neither as a value.
func isNoALPN(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "no application protocol") || strings.Contains(msg, "NoApplicationProtocol")
}
