package netns

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"net/netip"
	"os/exec"
	"strings"
	"testing"

	"go.uber.org/goleak"
	"golang.org/x/sys/unix"
)

// TestNeighbourTable sets permanent IPv4 and IPv6 entries in a namespace
// of its own and reads them back with ip(8); a second Set for the same
// address replaces the entry, as the lab does when a host is replugged.
func TestNeighbourTable(t *testing.T) {
	defer goleak.VerifyNone(t)
	ns := scratchNamespace(t)
	run(t, "ip", "-n", ns, "link", "add", "d0", "type", "veth", "peer", "name", "d1")
	run(t, "ip", "-n", ns, "link", "set", "d0", "up")
	nt, err := OpenNeighbourTable(Path(ns), "d0")
	if err != nil {
		t.Fatal(err)
	}
	defer nt.Close()
	entries := []struct{ ip, mac string }{
		{"10.9.0.2", "02:00:00:00:00:02"},
		{"10.9.0.3", "02:00:00:00:00:03"},
		{"fd00::9", "02:00:00:00:00:09"},
		{"10.9.0.2", "02:00:00:00:00:22"}, // replaces the first
	}
	for _, e := range entries {
		mac, err := net.ParseMAC(e.mac)
		if err != nil {
			t.Fatal(err)
		}
		if err := nt.Set(netip.MustParseAddr(e.ip), mac); err != nil {
			t.Fatal(err)
		}
	}
	got := run(t, "ip", "-n", ns, "neigh", "show", "dev", "d0")
	for _, want := range []string{
		"10.9.0.2 lladdr 02:00:00:00:00:22 PERMANENT",
		"10.9.0.3 lladdr 02:00:00:00:00:03 PERMANENT",
		"fd00::9 lladdr 02:00:00:00:00:09 PERMANENT",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("ip neigh show lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "02:00:00:00:00:02") {
		t.Errorf("the replaced entry is still there:\n%s", got)
	}
}

// TestNeighbourTableErrors: a missing interface fails the open, and an
// entry the kernel refuses (a link-layer address shorter than the
// interface's) comes back as the kernel's error, not as success.
func TestNeighbourTableErrors(t *testing.T) {
	defer goleak.VerifyNone(t)
	ns := scratchNamespace(t)
	if _, err := OpenNeighbourTable(Path(ns), "nosuch0"); err == nil {
		t.Fatal("opened the table of an interface that does not exist")
	}
	run(t, "ip", "-n", ns, "link", "add", "d0", "type", "veth", "peer", "name", "d1")
	nt, err := OpenNeighbourTable(Path(ns), "d0")
	if err != nil {
		t.Fatal(err)
	}
	defer nt.Close()
	err = nt.Set(netip.MustParseAddr("10.9.0.2"), net.HardwareAddr{2, 0, 0})
	if !errors.Is(err, unix.EINVAL) {
		t.Fatalf("a 3-byte MAC on an Ethernet link: got %v, want EINVAL; table:\n%s",
			err, run(t, "ip", "-n", ns, "neigh", "show"))
	}
	t.Logf("refused as expected: %v", err)
}

// scratchNamespace makes a network namespace removed with the test.
func scratchNamespace(t *testing.T) string {
	t.Helper()
	if why := Usable(); why != "" {
		t.Skip(why)
	}
	var b [3]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	ns := "kn-neigh-" + hex.EncodeToString(b[:])
	run(t, "ip", "netns", "add", ns)
	t.Cleanup(func() { run(t, "ip", "netns", "del", ns) })
	return ns
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}
