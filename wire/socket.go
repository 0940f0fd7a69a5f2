package wire

import (
	"log/slog"
	"net"
	"net/netip"
	"time"
)

// Socket is the transport's one UDP socket, for ingress and egress: the
// bound *net.UDPConn itself, or what Config.WrapSocket made of it.
type Socket interface {
	ReadMsgUDPAddrPort(b, oob []byte) (n, oobn, flags int, addr netip.AddrPort, err error)
	WriteToUDPAddrPort(b []byte, addr netip.AddrPort) (int, error)
	SetReadDeadline(t time.Time) error
	LocalAddr() net.Addr
	Close() error
}

// tuneSocket sizes the socket's kernel buffers and turns on the kernel's
// count of datagrams it dropped because the receive buffer was full. At
// the default buffer (about 208 KiB on Linux) a burst of a few hundred
// datagrams overflows it, and every datagram lost there costs a caller a
// whole RPC timeout. The kernel caps the size at net.core.rmem_max and
// net.core.wmem_max; the effective sizes are logged.
func tuneSocket(sock *net.UDPConn, size int, log *slog.Logger) {
	if err := sock.SetReadBuffer(size); err != nil {
		log.Debug("cannot set the socket receive buffer", "bytes", size, "err", err)
	}
	if err := sock.SetWriteBuffer(size); err != nil {
		log.Debug("cannot set the socket send buffer", "bytes", size, "err", err)
	}
	rcv, snd := socketBuffers(sock)
	log.Debug("socket buffers", "asked", size, "receive", rcv, "send", snd,
		"note", "the kernel caps them at net.core.rmem_max / wmem_max")
	if err := enableOverflowCount(sock); err != nil {
		log.Debug("kernel receive-buffer drops will not be counted", "err", err)
	}
}

// overflowCount follows the kernel's cumulative drop counter, as carried
// by received datagrams, and turns it into increments.
type overflowCount struct {
	last uint32
}

// update takes a datagram's control data and returns how many datagrams
// the kernel dropped since the previous report.
func (o *overflowCount) update(oob []byte) uint64 {
	v, ok := parseOverflowCount(oob)
	if !ok || v == o.last {
		return 0
	}
	d := v - o.last // the counter is a wrapping uint32
	o.last = v
	return uint64(d)
}
