package wire

import (
	"encoding/binary"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// datagramPool recycles the per-datagram copies the read loop queues to
// sessions; a vconn returns a buffer once pion has copied it out.
var datagramPool = sync.Pool{New: func() any {
	b := make([]byte, maxDatagramSize)
	return &b
}}

// vconn is the net.Conn a pion DTLS client or server runs over: reads come
// from a queue the transport's read loop fills, writes go out on the shared
// UDP socket. It must unblock Read on a past deadline and on Close, because
// pion cancels its reader that way and Close would hang otherwise.
type vconn struct {
	sock   Socket
	remote netip.AddrPort
	in     chan *[]byte
	// onWrite, when set, sees every outgoing datagram and can veto it; the
	// transport uses it to learn our ClientHello random and to silence a
	// client aborted by the simultaneous-open tie-break.
	onWrite func(b []byte) bool
	// cookie, set on a client's conn, runs the client's half of the
	// mux's cookie exchange (cookie_client.go).
	cookie *helloCookie
	// loss, when it holds a function, drops the writes it picks; only
	// tests set it (on the transport), to lose a given datagram.
	loss *atomic.Pointer[func(to netip.AddrPort, b []byte) bool]
	// mute drops every write: set on a session replaced by a newer one,
	// whose close_notify the peer could not decrypt anyway.
	mute atomic.Bool
	// closing makes Read ignore deadlines until Close. pion's Conn.Close
	// cancels its reader (by a past deadline) before it sends close_notify,
	// and the reader, on waking, closes the conn under the alert; holding the
	// reader until Close lets the alert out.
	closing atomic.Bool

	closeOnce sync.Once
	closed    chan struct{}

	dlMu    sync.Mutex
	dlTimer *time.Timer
	dlCh    chan struct{} // closed while the read deadline is in the past
}

func newVconn(sock Socket, remote netip.AddrPort, queueLen int) *vconn {
	return &vconn{
		sock:   sock,
		remote: remote,
		in:     make(chan *[]byte, queueLen),
		closed: make(chan struct{}),
		dlCh:   make(chan struct{}),
	}
}

// deliver queues one datagram without blocking; false means the queue is
// full (or the conn closed) and the caller drops and counts it.
func (c *vconn) deliver(b []byte) bool {
	select {
	case <-c.closed:
		return false
	default:
	}
	bp := datagramPool.Get().(*[]byte)
	*bp = append((*bp)[:0], b...)
	select {
	case c.in <- bp:
		return true
	default:
		datagramPool.Put(bp)
		return false
	}
}

func (c *vconn) Read(p []byte) (int, error) {
	c.dlMu.Lock()
	dl := c.dlCh
	c.dlMu.Unlock()
	for {
		select {
		case bp := <-c.in:
			if c.cookie != nil {
				resend, consumed := c.cookie.incoming(*bp)
				if consumed {
					datagramPool.Put(bp)
					if resend != nil && !c.mute.Load() {
						c.sock.WriteToUDPAddrPort(resend, c.remote) //nolint:errcheck // pion retransmits
					}
					continue
				}
			}
			n := copy(p, *bp)
			datagramPool.Put(bp)
			return n, nil
		case <-c.closed:
			return 0, net.ErrClosed
		case <-dl:
			if !c.closing.Load() {
				return 0, os.ErrDeadlineExceeded
			}
			dl = nil // see closing
		}
	}
}

// Write sends even after Close: pion's reader may close the conn while
// Conn.Close is still sending close_notify, and the shared socket stays
// open anyway.
func (c *vconn) Write(b []byte) (int, error) {
	if c.mute.Load() || (c.onWrite != nil && !c.onWrite(b)) {
		return len(b), nil // vetoed: behave like a datagram lost on the way
	}
	out := b
	if c.cookie != nil {
		out = c.cookie.outgoing(b)
	}
	if c.lost(out) {
		return len(b), nil
	}
	for len(out) > 0 {
		var d []byte
		d, out = splitAtEpoch(out)
		if _, err := c.sock.WriteToUDPAddrPort(d, c.remote); err != nil {
			return 0, err
		}
	}
	return len(b), nil
}

// nextRecord reads the header of the DTLS record at off in datagram b: its
// content type, its epoch and where the next record starts. ok is false
// when no whole header is left.
func nextRecord(b []byte, off int) (ctype byte, epoch uint16, next int, ok bool) {
	if off+recordHeaderLen > len(b) {
		return 0, 0, 0, false
	}
	h := b[off:]
	return h[0], binary.BigEndian.Uint16(h[3:5]), off + recordHeaderLen + int(binary.BigEndian.Uint16(h[11:13])), true
}

// hasChangeCipherSpec reports whether datagram b holds a ChangeCipherSpec
// record.
func hasChangeCipherSpec(b []byte) bool {
	for off := 0; ; {
		ctype, _, next, ok := nextRecord(b, off)
		if !ok {
			return false
		}
		if ctype == contentChangeCipherSpec {
			return true
		}
		off = next
	}
}

// splitAtEpoch cuts a datagram before its first record of a later epoch
// than its first record's, returning the part to send now and the rest.
// pion v2 queues a record of the next epoch that arrives before it can
// decrypt it (a Finished behind the ChangeCipherSpec) as a slice of a
// pooled read buffer, which it hands back once the datagram is read, so
// the next read of any conn can overwrite the queued record (a race the
// race detector reports, and a Finished that fails to verify). Sent
// apart, the Finished is read only after pion's handshake has taken the
// records before it, and by then it can decrypt it. Only a datagram that
// starts in epoch 0 (a handshake flight) can mix epochs, so every other
// write, application data included, returns after one header.
func splitAtEpoch(b []byte) (now, rest []byte) {
	_, first, next, ok := nextRecord(b, 0)
	if !ok || first != 0 {
		return b, nil
	}
	for off := next; ; {
		_, epoch, next, ok := nextRecord(b, off)
		if !ok {
			return b, nil
		}
		if epoch != first {
			return b[:off], b[off:]
		}
		off = next
	}
}

func (c *vconn) Close() error {
	c.closeOnce.Do(func() {
		close(c.closed)
		c.dlMu.Lock()
		if c.dlTimer != nil {
			c.dlTimer.Stop()
		}
		c.dlMu.Unlock()
		// Return queued buffers to the pool.
		for {
			select {
			case bp := <-c.in:
				datagramPool.Put(bp)
			default:
				return
			}
		}
	})
	return nil
}

func (c *vconn) LocalAddr() net.Addr  { return c.sock.LocalAddr() }
func (c *vconn) RemoteAddr() net.Addr { return net.UDPAddrFromAddrPort(c.remote) }

func (c *vconn) SetDeadline(t time.Time) error { return c.SetReadDeadline(t) }

// SetWriteDeadline is a no-op: a UDP write does not block long enough to
// need one.
func (c *vconn) SetWriteDeadline(time.Time) error { return nil }

func (c *vconn) SetReadDeadline(t time.Time) error {
	c.dlMu.Lock()
	defer c.dlMu.Unlock()
	if c.dlTimer != nil {
		c.dlTimer.Stop()
		c.dlTimer = nil
	}
	expired := isClosed(c.dlCh)
	switch {
	case t.IsZero():
		if expired {
			c.dlCh = make(chan struct{})
		}
	case !t.After(time.Now()):
		if !expired {
			close(c.dlCh)
		}
	default:
		if expired {
			c.dlCh = make(chan struct{})
		}
		ch := c.dlCh
		c.dlTimer = time.AfterFunc(time.Until(t), func() {
			c.dlMu.Lock()
			defer c.dlMu.Unlock()
			if c.dlCh == ch && !isClosed(ch) {
				close(ch)
			}
		})
	}
	return nil
}

func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

var _ net.Conn = (*vconn)(nil)

// lost reports whether the test's loss function drops b.
func (c *vconn) lost(b []byte) bool {
	if c.loss == nil {
		return false
	}
	f := c.loss.Load()
	return f != nil && (*f)(c.remote, b)
}
