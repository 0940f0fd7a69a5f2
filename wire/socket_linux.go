package wire

import (
	"encoding/binary"
	"net"

	"golang.org/x/sys/unix"
)

// overflowOOBSize fits the one control message SO_RXQ_OVFL adds.
var overflowOOBSize = unix.CmsgSpace(4)

// enableOverflowCount sets SO_RXQ_OVFL: from the first drop on, every
// received datagram carries the socket's cumulative drop count.
func enableOverflowCount(sock *net.UDPConn) error {
	rc, err := sock.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RXQ_OVFL, 1)
	}); err != nil {
		return err
	}
	return serr
}

// parseOverflowCount finds the SO_RXQ_OVFL counter in a datagram's
// control data.
func parseOverflowCount(oob []byte) (uint32, bool) {
	for len(oob) > 0 {
		h, data, rest, err := unix.ParseOneSocketControlMessage(oob)
		if err != nil {
			return 0, false
		}
		if h.Level == unix.SOL_SOCKET && h.Type == unix.SO_RXQ_OVFL && len(data) >= 4 {
			return binary.NativeEndian.Uint32(data), true
		}
		oob = rest
	}
	return 0, false
}

// socketBuffers reads the effective buffer sizes (Linux reports twice the
// size asked, for its bookkeeping).
func socketBuffers(sock *net.UDPConn) (rcv, snd int) {
	rc, err := sock.SyscallConn()
	if err != nil {
		return 0, 0
	}
	rc.Control(func(fd uintptr) {
		rcv, _ = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF)
		snd, _ = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUF)
	})
	return rcv, snd
}
