package wire

import (
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// Listen asks for DefaultSocketBuffer, and the kernel grants it up to
// net.core.rmem_max (doubled, for its bookkeeping).
func TestSocketReceiveBuffer(t *testing.T) {
	raw, err := os.ReadFile("/proc/sys/net/core/rmem_max")
	if runtime.GOOS != "linux" || err != nil {
		t.Skipf("needs Linux's /proc/sys/net/core/rmem_max (%v)", err)
	}
	rmemMax, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	a := newTestNode(t, nil)
	rcv, _ := socketBuffers(a.sock.(*net.UDPConn))
	if want := 2 * min(DefaultSocketBuffer, rmemMax); rcv != want {
		t.Fatalf("receive buffer is %d bytes, want %d (2 × min(%d asked, rmem_max %d))", rcv, want, DefaultSocketBuffer, rmemMax)
	}
}

// A burst that overflows the kernel's receive buffer while the read loop
// is held: every datagram sent is then either read (and counted as
// garbage) or counted as a kernel overflow drop.
func TestKernelOverflowCounted(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("receive-buffer drops are counted on Linux only")
	}
	// The smallest buffer the kernel allows, so that a short burst fills it.
	a := newTestNode(t, func(c *Config) { c.SocketBuffer = 1 })
	raw := rawSocket(t)
	garbage := []byte("\x00\x01not DTLS, not KRPC")
	sent := 0
	send := func() {
		t.Helper()
		if _, err := raw.WriteToUDPAddrPort(garbage, a.LocalAddr()); err != nil {
			t.Fatal(err)
		}
		sent++
	}
	release := a.holdReads()
	const burst = 2000
	for range burst {
		send()
	}
	release()
	// The kernel reports its count on the datagrams that arrive after the
	// drops, so keep probing until every datagram is accounted for.
	accounted := func() bool {
		d := a.Stats().Dropped
		if d["garbage"]+d["kernel_overflow"] == uint64(sent) {
			return true
		}
		send()
		return false
	}
	waitFor(t, "every datagram to be read or counted as a kernel drop", accounted, a)
	if d := a.Stats().Dropped["kernel_overflow"]; d == 0 {
		t.Fatalf("a burst of %d datagrams into a held read loop dropped none", burst)
	}
	t.Logf("%d datagrams sent, %d dropped by the kernel", sent, a.Stats().Dropped["kernel_overflow"])
}
