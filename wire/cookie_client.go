package wire

import (
	"encoding/binary"
	"net"
	"sync"

	"github.com/pion/dtls/v2/pkg/protocol/handshake"
)

// helloCookie is the client's half of the mux's cookie exchange (see
// cookie.go): it keeps the HelloVerifyRequest of a kadnode node from pion
// and answers it by sending pion's first ClientHello again with the cookie
// in it, and it puts the cookie into pion's retransmissions of that hello.
// A HelloVerifyRequest of another DTLS server (a cookie of another length)
// goes to pion, which runs the standard exchange.
type helloCookie struct {
	mu     sync.Mutex
	hello  []byte // pion's last ClientHello, as it wrote it
	cookie []byte
}

// outgoing sees every datagram the client writes and returns the one to
// send in its place.
func (h *helloCookie) outgoing(b []byte) []byte {
	if len(b) <= recordHeaderLen || b[0] != contentHandshake || b[recordHeaderLen] != handshakeClientHello {
		return b
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.hello = append(h.hello[:0], b...)
	if h.cookie == nil {
		return b
	}
	if out, _, ok := setHelloCookie(b, h.cookie); ok {
		return out
	}
	return b
}

// incoming sees every datagram the client receives. consumed reports a
// node's HelloVerifyRequest, which pion must not see; resend, when not
// nil, is the ClientHello to send in answer.
func (h *helloCookie) incoming(b []byte) (resend []byte, consumed bool) {
	cookie, ok := nodeHelloVerify(b)
	if !ok {
		return nil, false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.cookie = cookie
	if h.hello == nil {
		return nil, true
	}
	out, _, ok := setHelloCookie(h.hello, cookie)
	if !ok {
		return nil, true
	}
	return out, true
}

// nodeHelloVerify returns the cookie of datagram b when it is a
// HelloVerifyRequest made by a kadnode mux (its cookie helloCookieLen
// long; pion's are 20 bytes).
func nodeHelloVerify(b []byte) ([]byte, bool) {
	if len(b) < recordHeaderLen+handshakeHeaderLen || b[0] != contentHandshake ||
		b[recordHeaderLen] != byte(handshake.TypeHelloVerifyRequest) || binary.BigEndian.Uint16(b[3:5]) != 0 {
		return nil, false
	}
	n := int(binary.BigEndian.Uint16(b[11:13]))
	if n > len(b)-recordHeaderLen {
		return nil, false
	}
	var hs handshake.Handshake
	if err := hs.Unmarshal(b[recordHeaderLen : recordHeaderLen+n]); err != nil {
		return nil, false
	}
	hvr, ok := hs.Message.(*handshake.MessageHelloVerifyRequest)
	if !ok || len(hvr.Cookie) != helloCookieLen {
		return nil, false
	}
	return hvr.Cookie, true
}

// CookieConn wraps the connected UDP conn of a pion DTLS client so that
// it can complete a handshake with a kadnode node, whose cookie exchange
// pion cannot run on its own (see cookie.go). wire's Transport does the
// same for its own sessions.
func CookieConn(c net.Conn) net.Conn { return &cookieConn{Conn: c} }

type cookieConn struct {
	net.Conn
	h helloCookie
}

func (c *cookieConn) Write(b []byte) (int, error) {
	if _, err := c.Conn.Write(c.h.outgoing(b)); err != nil {
		return 0, err
	}
	return len(b), nil
}

func (c *cookieConn) Read(p []byte) (int, error) {
	for {
		n, err := c.Conn.Read(p)
		if err != nil {
			return n, err
		}
		resend, consumed := c.h.incoming(p[:n])
		if !consumed {
			return n, nil
		}
		if resend != nil {
			if _, err := c.Conn.Write(resend); err != nil {
				return 0, err
			}
		}
	}
}
