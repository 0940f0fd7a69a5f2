package testnet

import (
	"bufio"
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/anacrolix/dht/v2/krpc"

	"github.com/kadnode/kadnode/kad"
	"github.com/kadnode/kadnode/wire"
)

// Environment of the child process of TestRestartAfterSIGKILL.
const (
	childEnvDir    = "KADNODE_TESTNET_CHILD_DIR"
	childEnvListen = "KADNODE_TESTNET_CHILD_LISTEN"
	childEnvSeed   = "KADNODE_TESTNET_CHILD_SEED"
	childReady     = "READY"
	// childMinStored is how many contacts the child must have on disk
	// before it reports ready to be killed.
	childMinStored = 3
)

// checkRejoined verifies that m, restarted without seeds, finds every
// other running node and is found by each of them at its address.
func checkRejoined(t *testing.T, net *Network, m *Node) {
	t.Helper()
	if err := m.WaitJoined(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	for _, o := range net.Running() {
		if o.ID == m.ID {
			continue
		}
		if res := lookup(t, m, o.ID); !res.Found || res.Addr != o.Addr {
			t.Errorf("restarted node did not find node %d at %v: %+v", o.Index, o.Addr, res)
		}
		if res := lookup(t, o, m.ID); !res.Found || res.Addr != m.Addr {
			t.Errorf("node %d did not find the restarted node at %v: %+v", o.Index, m.Addr, res)
		}
	}
}

func TestRestartAfterCleanStop(t *testing.T) {
	net := newNet(t, patient(Options{Seed: 6}))
	grow(t, net, 15)
	m := net.Nodes()[7]
	stored := len(m.Node().Nodes())
	if err := m.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := m.Restart(testCtx(t)); err != nil { // no seeds
		t.Fatal(err)
	}
	if got := len(m.Node().Nodes()); got < stored*9/10 {
		t.Fatalf("restarted with %d contacts from the store, had %d", got, stored)
	}
	checkRejoined(t, net, m)
}

// TestRestartAfterSIGKILL runs a node in a child process (this test
// binary again), kills it with SIGKILL once it has joined and stored its
// contacts, and restarts it here on the same data dir and address.
func TestRestartAfterSIGKILL(t *testing.T) {
	net := newNet(t, patient(Options{Seed: 7}))
	grow(t, net, 10)
	dir := t.TempDir()
	cmd, addr, lines := startChildNode(t, dir, LoopbackAddr(800, 0), net.Nodes()[3].Contact())
	id, err := wire.LoadOrCreateIdentity(dir)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the network to hold the child", func() bool { return len(heldBy(net, id.ID)) >= 3 })

	m := killAndAdopt(t, net, cmd, lines, dir, addr, id.ID)
	if got := len(m.Node().Nodes()); got < childMinStored {
		t.Fatalf("restarted with %d contacts from the store, want ≥ %d", got, childMinStored)
	}
	checkRejoined(t, net, m)
}

// startChildNode runs a node in a child process (this test binary again)
// on dir and listen, joined through seed, and returns once it is ready:
// joined, with contacts stored. The caller kills it; the test's end does
// too.
func startChildNode(t *testing.T, dir string, listen netip.AddrPort, seed kad.Endpoint) (*exec.Cmd, netip.AddrPort, chan string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(),
		childEnvDir+"="+dir,
		childEnvListen+"="+listen.String(),
		childEnvSeed+"="+seed.String())
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var addr netip.AddrPort
	select {
	case line, ok := <-lines:
		if !ok {
			t.Fatal("child exited without reporting ready")
		}
		ready, addrStr, _ := strings.Cut(line, " ")
		if ready != childReady {
			t.Fatalf("child said %q, want %s <addr>", line, childReady)
		}
		if addr, err = netip.ParseAddrPort(addrStr); err != nil {
			t.Fatal(err)
		}
	case <-time.After(testTimeout):
		t.Fatal("child not ready in time")
	}
	return cmd, addr, lines
}

// runChild is the child process of TestRestartAfterSIGKILL: it runs one
// node until it is killed.
func runChild() {
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(2)
	}
	seed, err := kad.ParseEndpoint(os.Getenv(childEnvSeed))
	if err != nil {
		fail(err)
	}
	listen, err := netip.ParseAddrPort(os.Getenv(childEnvListen))
	if err != nil {
		fail(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	net, err := New(patient(Options{Dir: os.Getenv(childEnvDir)}))
	if err != nil {
		fail(err)
	}
	m, err := net.Adopt(ctx, os.Getenv(childEnvDir), listen, seed)
	if err != nil {
		fail(err)
	}
	if err := m.WaitJoined(ctx); err != nil {
		fail(err)
	}
	err = WaitFor(ctx, func() bool {
		cs, err := m.Store().Load()
		return err == nil && len(cs) >= childMinStored
	})
	if err != nil {
		fail(err)
	}
	fmt.Println(childReady, m.Addr)
	<-ctx.Done() // until SIGKILL
	fail(fmt.Errorf("not killed in time"))
}

// killAndAdopt kills the child node with SIGKILL and restarts it in net on
// its data dir and address, with no seeds; the restarted node must have
// the child's ID.
func killAndAdopt(t *testing.T, net *Network, cmd *exec.Cmd, lines chan string, dir string, addr netip.AddrPort, id krpc.ID) *Node {
	t.Helper()
	if err := cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	_ = cmd.Wait()
	for range lines {
	}
	m, err := net.Adopt(testCtx(t), dir, addr) // no seeds
	if err != nil {
		t.Fatal(err)
	}
	if m.ID != id {
		t.Fatalf("restarted with ID %x, the child had %x", m.ID, id)
	}
	return m
}
