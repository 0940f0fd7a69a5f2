package hostile

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/kadnode/kadnode/testnet/netns"
	"golang.org/x/sys/unix"
)

// nsTag prefixes the network namespaces these tests make.
const nsTag = "kn-ses-"

var nsSeq atomic.Int64

// namespace is a network namespace of the test's own with lo up, removed when
// the test ends. It skips the test when not run as root.
type namespace struct{ name string }

func newNetns(t *testing.T) *namespace {
	t.Helper()
	if why := netns.Usable(); why != "" {
		t.Skip(why + " (and root for a raw socket)")
	}
	n := &namespace{name: fmt.Sprintf("%s%d-%d", nsTag, os.Getpid(), nsSeq.Add(1))}
	if out, err := exec.Command("ip", "netns", "add", n.name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v: %s", n.name, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", n.name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", n.name, err, out)
		}
	})
	if out, err := exec.Command("ip", "-n", n.name, "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("ip -n %s link set lo up: %v: %s", n.name, err, out)
	}
	return n
}

// do runs f on the calling goroutine with its thread inside the
// namespace: every socket f opens lives there, whichever thread uses it
// later. A thread that cannot be switched back is never unlocked, so it
// ends with its goroutine.
func (n *namespace) do(t *testing.T, f func()) {
	t.Helper()
	runtime.LockOSThread()
	orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		runtime.UnlockOSThread()
		t.Fatal(err)
	}
	defer unix.Close(orig)
	ns, err := unix.Open("/run/netns/"+n.name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		runtime.UnlockOSThread()
		t.Fatal(err)
	}
	defer unix.Close(ns)
	if err := unix.Setns(ns, unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		t.Fatalf("entering %s: %v", n.name, err)
	}
	defer func() {
		if err := unix.Setns(orig, unix.CLONE_NEWNET); err != nil {
			t.Errorf("leaving %s: %v", n.name, err)
			return
		}
		runtime.UnlockOSThread()
	}()
	f()
}

// command runs name with args inside the namespace.
func (n *namespace) command(name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", n.name, name}, args...)...)
}

// rawUDP sends UDP datagrams with any IPv4 source address: a raw socket
// with the IP header written by us (IPPROTO_RAW implies IP_HDRINCL).
type rawUDP struct{ fd int }

// openRawUDP opens the socket; call it inside a namespace (namespace.do).
func openRawUDP(t *testing.T) *rawUDP {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_RAW)
	if err != nil {
		t.Fatalf("raw socket: %v", err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return &rawUDP{fd: fd}
}

// send sends payload from src to dst. The kernel fills in the IP
// checksum and ID; a zero UDP checksum means none (RFC 768).
func (r *rawUDP) send(src, dst netip.AddrPort, payload []byte) error {
	const ipHeader, udpHeader = 20, 8
	p := make([]byte, ipHeader+udpHeader+len(payload))
	p[0] = 0x45 // IPv4, 5-word header
	binary.BigEndian.PutUint16(p[2:], uint16(len(p)))
	p[8] = 64 // TTL
	p[9] = unix.IPPROTO_UDP
	s, d := src.Addr().As4(), dst.Addr().As4()
	copy(p[12:16], s[:])
	copy(p[16:20], d[:])
	binary.BigEndian.PutUint16(p[20:], src.Port())
	binary.BigEndian.PutUint16(p[22:], dst.Port())
	binary.BigEndian.PutUint16(p[24:], uint16(udpHeader+len(payload)))
	copy(p[28:], payload)
	return unix.Sendto(r.fd, p, 0, &unix.SockaddrInet4{Addr: d})
}
