//go:build !linux

package wire

import (
	"errors"
	"net"
)

// overflowOOBSize is zero: only Linux reports receive-buffer drops.
var overflowOOBSize = 0

func enableOverflowCount(*net.UDPConn) error {
	return errors.New("counting receive-buffer drops needs Linux (SO_RXQ_OVFL)")
}

func parseOverflowCount([]byte) (uint32, bool) { return 0, false }

func socketBuffers(*net.UDPConn) (rcv, snd int) { return 0, 0 }
