package wire

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"net/netip"
	"time"

	"github.com/pion/dtls/v2/pkg/protocol"
	"github.com/pion/dtls/v2/pkg/protocol/handshake"
	"github.com/pion/dtls/v2/pkg/protocol/recordlayer"
)

// The mux runs the DTLS cookie exchange (RFC 6347 4.2.1) itself, without
// state: a ClientHello from an address that has not proven it receives
// there is answered with a HelloVerifyRequest whose cookie is an HMAC of
// the address, and nothing else happens. pion's own cookie check runs
// only after it has allocated a handshake (~36 KB, 4 goroutines), so
// every pion server here skips it (InsecureSkipVerifyHello).
//
// pion v2 cannot take over a handshake whose cookie someone else checked:
// its server expects the ClientHello with message_seq 0 and answers with
// message_seq 0. So the cookie comes back in a retransmission of the
// client's first ClientHello (message_seq 0), put there by the client's
// side of the mux (helloCookie, in cookie_client.go), and is removed
// again before the hello reaches pion. Both pions then hash the same
// hello, the one the client's pion wrote, and neither sees the exchange.

// cookieJar makes and checks the mux's cookies. Its secret rotates every
// cookieSecretLifetime; a cookie made under the previous secret is still
// accepted, so a cookie lives one to two lifetimes. Used with
// Transport.mu held.
type cookieJar struct {
	cur, prev [cookieSecretLen]byte
	rotated   time.Time
	ready     bool
}

func (j *cookieJar) rotate(now time.Time) {
	if j.ready && now.Sub(j.rotated) < cookieSecretLifetime {
		return
	}
	j.prev = j.cur
	if !j.ready {
		rand.Read(j.cur[:]) // a fresh jar has no previous secret worth keeping
		j.prev = j.cur
	}
	rand.Read(j.cur[:])
	j.rotated, j.ready = now, true
}

func cookieFor(secret *[cookieSecretLen]byte, from netip.AddrPort) []byte {
	m := hmac.New(sha256.New, secret[:])
	a := from.Addr().As16()
	m.Write(a[:])
	m.Write(binary.BigEndian.AppendUint16(nil, from.Port()))
	return m.Sum(nil)[:helloCookieLen]
}

// make returns the cookie for a ClientHello from from.
func (j *cookieJar) make(now time.Time, from netip.AddrPort) []byte {
	j.rotate(now)
	return cookieFor(&j.cur, from)
}

// valid reports whether cookie was made for from under the current or the
// previous secret.
func (j *cookieJar) valid(now time.Time, from netip.AddrPort, cookie []byte) bool {
	if len(cookie) != helloCookieLen {
		return false
	}
	j.rotate(now)
	return hmac.Equal(cookie, cookieFor(&j.cur, from)) || hmac.Equal(cookie, cookieFor(&j.prev, from))
}

// splitHelloCookie takes the cookie out of datagram b, a ClientHello. It
// returns the hello as the client's pion wrote it (cookie field empty) and
// the cookie, nil when there was none or when b is not one whole
// ClientHello with message_seq 0 (a fragmented or a standard cookie echo,
// which pion v2's server cannot take over; see the top of this file).
func splitHelloCookie(b []byte) (hello, cookie []byte) {
	out, old, ok := setHelloCookie(b, nil)
	if !ok || len(old) == 0 || binary.BigEndian.Uint16(b[recordHeaderLen+4:]) != 0 {
		return b, nil
	}
	return out, old
}

// admitCookie reports whether a ClientHello from from has proven its
// address: it carries a valid cookie, or it resumes (sessionID) a session
// we issued to this very address, which skips the cookie exchange (RFC
// 6347 4.2.1 allows it): the full handshake proved the address, and a
// spoofer would need the session ID, which only the path to that address
// ever carried. Otherwise it answers with a HelloVerifyRequest (never
// larger than the hello) and the caller drops the hello. Called with
// t.mu held.
func (t *Transport) admitCookie(from netip.AddrPort, hello, cookie, sessionID []byte) bool {
	now := t.cfg.Now()
	if t.cookies.valid(now, from, cookie) ||
		(len(sessionID) > 0 && t.tickets.issuedTo(string(sessionID), from)) {
		return true
	}
	t.stats.handshake(hsCookieSent)
	hvr, err := helloVerifyRequest(hello, t.cookies.make(now, from))
	if err != nil || len(hvr) > len(hello) {
		return false // a hello too short to answer without amplification
	}
	t.sock.WriteToUDPAddrPort(hvr, from) //nolint:errcheck // a lost reply is a lost datagram
	return false
}

// helloVerifyRequest builds the answer to ClientHello datagram hello. Its
// record sequence number is the hello's, as RFC 6347 4.2.1 asks, and its
// version DTLS 1.0, which every DTLS 1.2 client accepts there.
func helloVerifyRequest(hello, cookie []byte) ([]byte, error) {
	var h recordlayer.Header
	if err := h.Unmarshal(hello); err != nil {
		return nil, err
	}
	rec := recordlayer.RecordLayer{
		Header: recordlayer.Header{Version: protocol.Version1_2, SequenceNumber: h.SequenceNumber},
		Content: &handshake.Handshake{Message: &handshake.MessageHelloVerifyRequest{
			Version: protocol.Version1_0,
			Cookie:  cookie,
		}},
	}
	return rec.Marshal()
}

// setHelloCookie returns datagram b, one record holding one whole
// ClientHello, with its cookie replaced by cookie, and the cookie it had
// (a slice of b). ok is false when b is not such a datagram.
func setHelloCookie(b, cookie []byte) (out, old []byte, ok bool) {
	if len(b) < recordHeaderLen+handshakeHeaderLen || b[0] != contentHandshake || len(cookie) > 0xff ||
		int(binary.BigEndian.Uint16(b[11:13])) != len(b)-recordHeaderLen {
		return nil, nil, false
	}
	hs := b[recordHeaderLen:]
	msgLen, fragOff, fragLen := uint24(hs[1:4]), uint24(hs[6:9]), uint24(hs[9:12])
	if hs[0] != handshakeClientHello || fragOff != 0 || fragLen != msgLen || msgLen != len(hs)-handshakeHeaderLen {
		return nil, nil, false
	}
	body := hs[handshakeHeaderLen:]
	off := 2 + helloRandomLen // client_version, random
	if len(body) <= off {
		return nil, nil, false
	}
	off += 1 + int(body[off]) // session_id
	if len(body) <= off || len(body) < off+1+int(body[off]) {
		return nil, nil, false
	}
	n := int(body[off])
	old = body[off+1 : off+1+n]
	delta := len(cookie) - n
	if len(b)+delta > maxDatagramSize {
		return nil, nil, false
	}
	out = make([]byte, 0, len(b)+delta)
	out = append(out, b[:recordHeaderLen+handshakeHeaderLen+off]...)
	out = append(out, byte(len(cookie)))
	out = append(out, cookie...)
	out = append(out, body[off+1+n:]...)
	binary.BigEndian.PutUint16(out[11:13], uint16(len(out)-recordHeaderLen))
	putUint24(out[recordHeaderLen+1:], msgLen+delta)
	putUint24(out[recordHeaderLen+9:], msgLen+delta)
	return out, old, true
}

func putUint24(b []byte, v int) { b[0], b[1], b[2] = byte(v>>16), byte(v>>8), byte(v) }
