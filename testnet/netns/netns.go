// Package netns runs code inside Linux network namespaces from a process
// that lives outside them: a socket belongs to the namespace it was
// created in, so a test can open a transport, or dial a node's loopback
// control API, in a namespace it made, and use it from any goroutine.
//
// It also sizes the kernel's neighbour (ARP) table for networks of many
// namespaces: that table is shared by every namespace of the machine, and
// once it is full the kernel drops packets to new neighbours without an
// error the sender sees.
package netns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Usable reports why network namespaces cannot be made here (they need
// root and ip(8) from iproute2), or "" when they can.
func Usable() string {
	if os.Geteuid() != 0 {
		return "needs root for network namespaces"
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return "needs ip(8) from iproute2"
	}
	return ""
}

// Path is the file of a namespace made by `ip netns add name`.
func Path(name string) string { return filepath.Join("/run/netns", name) }

// OfProcess is the network namespace file of process pid.
func OfProcess(pid int) string { return fmt.Sprintf("/proc/%d/ns/net", pid) }

// Do runs f on an OS thread switched into the namespace at nsPath. The
// thread is never switched back: it ends with the goroutine, so no other
// goroutine ever runs in the foreign namespace. Sockets f opens stay in
// that namespace.
func Do(nsPath string, f func() error) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the runtime retires the thread
		ns, err := os.Open(nsPath)
		if err != nil {
			done <- fmt.Errorf("opening network namespace: %w", err)
			return
		}
		defer ns.Close()
		if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET); err != nil {
			done <- fmt.Errorf("entering network namespace %s: %w", nsPath, err)
			return
		}
		done <- f()
	}()
	return <-done
}

// Dialer dials from inside the namespace at nsPath.
func Dialer(nsPath string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		var c net.Conn
		err := Do(nsPath, func() error {
			var err error
			c, err = (&net.Dialer{}).DialContext(ctx, network, addr)
			return err
		})
		return c, err
	}
}

// HTTPClient is an HTTP client whose connections start in the namespace
// at nsPath, e.g. to read a node's loopback-only /metrics.
func HTTPClient(nsPath string, timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout:   timeout,
		Transport: &http.Transport{DialContext: Dialer(nsPath), DisableKeepAlives: true},
	}
}

// neighbourThresholds are the kernel's neighbour-table limits for IPv4 and
// IPv6: above gc_thresh3 entries no new neighbour is created.
var neighbourThresholds = []string{
	"/proc/sys/net/ipv4/neigh/default/gc_thresh",
	"/proc/sys/net/ipv6/neigh/default/gc_thresh",
}

// EnsureNeighbourTable makes the kernel's neighbour table big enough for
// a network of the given number of namespaces that all talk to each
// other: n² entries, doubled for what else runs on the machine. It raises
// gc_thresh3, and gc_thresh1 and 2 in proportion, when the table is
// smaller, and returns a line saying what it changed ("" when nothing),
// or an error saying what to run by hand.
func EnsureNeighbourTable(namespaces int) (string, error) {
	entries := 2 * namespaces * namespaces
	var changed []string
	for _, base := range neighbourThresholds {
		cur, err := readInt(base + "3")
		if errors.Is(err, os.ErrNotExist) {
			continue // no such family here
		}
		if err != nil {
			return "", err
		}
		if cur >= entries {
			continue
		}
		// Keep the kernel's 1:4:8 proportions of thresh1:thresh2:thresh3.
		want := []int{entries / 8, entries / 2, entries}
		for i, v := range want {
			f := base + strconv.Itoa(i+1)
			if err := os.WriteFile(f, []byte(strconv.Itoa(v)), 0o644); err != nil {
				return "", fmt.Errorf("the kernel's neighbour table holds %d entries, and a network of this size needs %d: "+
					"raising %s failed (%w); run as root, or raise it yourself: sysctl -w %s=%d",
					cur, entries, f, err, sysctlName(f), v)
			}
		}
		changed = append(changed, fmt.Sprintf("%s %d → %d", sysctlName(base+"3"), cur, entries))
	}
	if len(changed) == 0 {
		return "", nil
	}
	return "raised the kernel's neighbour table, shared by every network namespace: " + strings.Join(changed, ", "), nil
}

func readInt(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// sysctlName turns /proc/sys/a/b/c into a.b.c.
func sysctlName(path string) string {
	return strings.ReplaceAll(strings.TrimPrefix(path, "/proc/sys/"), "/", ".")
}
