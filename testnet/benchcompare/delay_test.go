package main

import (
	"encoding/binary"
	"net"
	"testing"
	"time"
)

// TestDelayLineKeepsOrderAndDelays sends numbered datagrams through a
// line and checks that each arrives, in order, and not before its delay.
// They leave the line together, so there are few enough for the
// receiver's default kernel buffer.
func TestDelayLineKeepsOrderAndDelays(t *testing.T) {
	const delay, count = 20 * time.Millisecond, 40
	line := newDelayLine(delay)
	defer line.close()
	from := listenLoopback(t)
	to := listenLoopback(t)
	sock, dst := line.wrap(from), to.LocalAddr().(*net.UDPAddr).AddrPort()
	sent := make([]time.Time, count)
	for i := range count {
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], uint32(i))
		sent[i] = time.Now()
		if _, err := sock.WriteToUDPAddrPort(b[:], dst); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 16)
	if err := to.SetReadDeadline(time.Now().Add(30 * time.Second)); err != nil {
		t.Fatal(err)
	}
	for want := range count {
		n, err := to.Read(buf)
		if err != nil {
			t.Fatalf("datagram %d of %d did not arrive: %v", want, count, err)
		}
		got := int(binary.BigEndian.Uint32(buf[:n]))
		if got != want {
			t.Fatalf("datagram %d arrived where %d was due: the line reordered", got, want)
		}
		if early := delay - time.Since(sent[got]); early > 0 {
			t.Fatalf("datagram %d arrived %v before its delay of %v", got, early, delay)
		}
	}
	if d := line.dropped.Load(); d != 0 {
		t.Fatalf("the line dropped %d datagrams", d)
	}
}

// TestDelayLineNilSendsDirectly: without -delay the sockets are the
// nodes' own.
func TestDelayLineNilSendsDirectly(t *testing.T) {
	var line *delayLine = newDelayLine(0)
	c := listenLoopback(t)
	if s := line.wrap(c); s != c {
		t.Fatalf("no line wrapped the socket: %T", s)
	}
	line.close()
}

func listenLoopback(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
