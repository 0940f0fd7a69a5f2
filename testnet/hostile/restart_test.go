package hostile

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

	"github.com/kadnode/kadnode/kad"
	"github.com/kadnode/kadnode/node"
	"github.com/kadnode/kadnode/testnet"
	"github.com/kadnode/kadnode/wire"
)

// envChild, set to "<data dir> <listen address>", makes the test binary
// run one node in that dir instead of the tests, until it is killed or
// childLifetime passes.
const envChild = EnvPrefix + "CHILD"

// childLifetime bounds a child node's life if nobody kills it.
const childLifetime = 2 * time.Minute

// runChild runs the node of a child process and returns when its lifetime
// is over; it prints the node's contact on stdout once it serves.
func runChild(spec string) error {
	dir, listen, ok := strings.Cut(spec, " ")
	if !ok {
		return fmt.Errorf("%s=%q: want a data dir and a listen address", envChild, spec)
	}
	addr, err := netip.ParseAddrPort(listen)
	if err != nil {
		return fmt.Errorf("%s=%q: %w", envChild, spec, err)
	}
	net, err := testnet.New(testnet.Options{Dir: dir, Network: networkName})
	if err != nil {
		return err
	}
	defer net.Close()
	m, err := net.Adopt(context.Background(), dir, addr)
	if err != nil {
		return err
	}
	fmt.Println(m.Contact())
	time.Sleep(childLifetime)
	return nil
}

// childNode is a node in a process of its own, so that it can really
// crash: SIGKILL, with no close_notify to its peers and no store sync.
type childNode struct {
	cmd     *exec.Cmd
	contact kad.Endpoint
}

func startChild(t *testing.T, dir, listen string) *childNode {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envChild+"="+dir+" "+listen)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &childNode{cmd: cmd}
	t.Cleanup(c.kill)
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("child node did not start: %v", err)
	}
	if c.contact, err = kad.ParseEndpoint(line); err != nil {
		t.Fatalf("child node printed %q: %v", line, err)
	}
	return c
}

func (c *childNode) kill() {
	if c.cmd.ProcessState == nil {
		c.cmd.Process.Kill()
		c.cmd.Wait()
	}
}

// A node crashes (SIGKILL) and comes back on the same address and data
// dir. A peer that still holds its old DTLS session, and that the
// restarted node has no reason to contact (a read-only caller it never
// inserted), pings it with the daemon's defaults: after at most one lost
// ping it must reach the new incarnation.
func TestCrashRestartedPeerReachable(t *testing.T) {
	dir := t.TempDir()
	child := startChild(t, dir, fmt.Sprintf("%s:0", hostIP(blockLegit, 20)))
	// The caller runs with the daemon's defaults (1 s RPC timeouts in node
	// and wire), read-only so that the restarted node does not know it.
	id := mustIdentity(t)
	tr, err := wire.Listen(wire.Config{Identity: id, Network: networkName, Listen: fmt.Sprintf("%s:0", hostIP(blockLegit, 21))})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	caller, err := node.New(node.Config{ReadOnly: true}, tr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer caller.Close()
	caller.Start()
	call := func() error {
		_, _, err := caller.Ping(context.Background(), child.contact)
		return err
	}
	if err := call(); err != nil {
		t.Fatal(err)
	}
	child.kill()
	child = startChild(t, dir, fmt.Sprintf("%s:%d", child.contact.Host, child.contact.Port))

	// The first ping may be lost to the old session (the node's deadline
	// ends it); every later one must reach the new incarnation.
	const attempts = 5
	var ok int
	var firstErr error
	for i := range attempts {
		err := call()
		switch {
		case err == nil:
			ok++
		case i == 0:
			firstErr = err
		default:
			t.Errorf("ping %d of %d to the restarted node failed: %v", i+1, attempts, err)
		}
	}
	t.Logf("pings to a node restarted after SIGKILL, from a peer holding its old session: %d of %d answered; first error: %v",
		ok, attempts, firstErr)
}
