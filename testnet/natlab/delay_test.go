package natlab

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/kadnode/kadnode/testnet/netns"
)

// Datagrams between two hosts of a delay router arrive, and a round trip
// takes at least twice the smallest one-way delay: the line never lets
// one through early. (A lower bound only: load can only add to it.)
func TestDelayRouterDelays(t *testing.T) {
	lab := New(t)
	const oneWay = 30 * time.Millisecond
	r := lab.DelayRouter("dr", oneWay, 2*oneWay, 0)
	a, b := r.AddHost("a"), r.AddHost("b")
	listen := func(h *Host) *net.UDPConn {
		var c *net.UDPConn
		err := netns.Do(netns.Path(h.NS), func() error {
			var err error
			c, err = net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(h.IP, 0)))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	ca, cb := listen(a), listen(b)
	go func() { // echo on b until its socket closes
		buf := make([]byte, 64)
		for {
			n, from, err := cb.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			cb.WriteToUDPAddrPort(buf[:n], from)
		}
	}()
	to := cb.LocalAddr().(*net.UDPAddr).AddrPort()
	buf := make([]byte, 64)
	for i := range 5 {
		start := time.Now()
		if _, err := ca.WriteToUDPAddrPort([]byte{byte(i)}, to); err != nil {
			t.Fatal(err)
		}
		if err := ca.SetReadDeadline(time.Now().Add(waitEcho)); err != nil {
			t.Fatal(err)
		}
		n, _, err := ca.ReadFromUDPAddrPort(buf)
		rtt := time.Since(start)
		if err != nil || n != 1 || buf[0] != byte(i) {
			t.Fatalf("echo %d through the delay router: %d bytes %v, err %v", i, n, buf[:n], err)
		}
		if rtt < 2*oneWay {
			t.Fatalf("echo %d came back after %v, under the round trip of %v the line imposes", i, rtt, 2*oneWay)
		}
	}
}

// waitEcho bounds one echo; a hang guard.
const waitEcho = 10 * time.Second
