package natlab

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Every node of a lab listens on the same port and serves its control API
// on its own namespace's loopback.
const (
	ListenPort  = 6881
	apiAddr     = "127.0.0.1:7000"
	Network     = "natlab"
	startWait   = 30 * time.Second
	stopWait    = 15 * time.Second
	clientWait  = 30 * time.Second
	tempPattern = "kn-nat-bin-"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
	binDir  string
)

// Binary builds kadnode once per test process (module root modRoot) and
// returns its path; RemoveBinary deletes it.
func Binary(t testing.TB, modRoot string) string {
	t.Helper()
	binOnce.Do(func() {
		if binDir, binErr = os.MkdirTemp("", tempPattern); binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "kadnode")
		cmd := exec.Command("go", "build", "-o", binPath, ".")
		cmd.Dir = modRoot
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// RemoveBinary deletes what Binary built; call it from TestMain.
func RemoveBinary() {
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
}

// Node is one `kadnode run` process in a host's namespace.
type Node struct {
	Host    *Host
	ID      string
	Contact string // as printed: ID@listen
	bin     string
	dataDir string
	t       testing.TB
	cmd     *exec.Cmd
	logs    *syncBuffer
	exited  chan struct{}
	waitErr error
}

// Addr is the node's own address, ip:port, as a seed string wants it.
func (n *Node) Addr() string { return fmt.Sprintf("%s:%d", n.Host.IP, ListenPort) }

// Seed is ID@ip:port of the node's own address.
func (n *Node) Seed() string { return n.ID + "@" + n.Addr() }

// Start runs `kadnode run` in h with a data dir of its own; extra flags
// (seeds, --nat, ...) are appended.
func (h *Host) Start(bin string, extra ...string) *Node {
	t := h.Lab.t
	t.Helper()
	n := &Node{Host: h, bin: bin, dataDir: t.TempDir(), t: t, logs: &syncBuffer{}, exited: make(chan struct{})}
	args := append([]string{"netns", "exec", h.NS, bin, "run",
		"--listen", fmt.Sprintf("0.0.0.0:%d", ListenPort), "--api", apiAddr,
		"--data-dir", n.dataDir, "--network", Network, "--log-level", "debug"}, extra...)
	n.cmd = exec.Command("ip", args...)
	n.cmd.Stderr = n.logs
	stdout, err := n.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		for sc.Scan() {
			fmt.Fprintf(n.logs, "STDOUT: %s\n", sc.Text())
		}
		n.waitErr = n.cmd.Wait()
		close(n.exited)
	}()
	t.Cleanup(n.Stop)
	select {
	case line, ok := <-lines:
		if !ok {
			<-n.exited
			t.Fatalf("kadnode in %s exited before printing its contact: %v\n%s", h.Name, n.waitErr, n.logs)
		}
		n.Contact = line
	case <-time.After(startWait):
		t.Fatalf("kadnode in %s printed no contact within %v\n%s", h.Name, startWait, n.logs)
	}
	n.ID, _, _ = strings.Cut(n.Contact, "@")
	return n
}

// Stop ends the process with SIGTERM (SIGKILL if it hangs) and waits.
func (n *Node) Stop() {
	select {
	case <-n.exited:
		return
	default:
	}
	if !n.signalAndWait(syscall.SIGTERM) {
		n.t.Errorf("kadnode in %s did not exit within %v of SIGTERM", n.Host.Name, stopWait)
	}
}

// signalAndWait sends sig and waits for the process to exit, killing it
// after stopWait; it reports whether sig alone ended it.
func (n *Node) signalAndWait(sig syscall.Signal) bool {
	_ = n.cmd.Process.Signal(sig)
	select {
	case <-n.exited:
		return true
	case <-time.After(stopWait):
		_ = n.cmd.Process.Kill()
		<-n.exited
		return false
	}
}

// Logs is the node's stderr so far.
func (n *Node) Logs() string { return n.logs.String() }

// Dump ends the node with SIGQUIT, so that the Go runtime writes every
// goroutine's stack to its stderr, and returns its log: for a node that
// stopped answering.
func (n *Node) Dump() string {
	n.signalAndWait(syscall.SIGQUIT)
	return n.logs.String()
}

// Client runs the client command cmd (`kadnode CMD --api ... ARGS`)
// against the node from inside its namespace and returns stdout.
func (n *Node) Client(cmd string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), clientWait)
	defer cancel()
	full := append([]string{"netns", "exec", n.Host.NS, n.bin, cmd, "--api", apiAddr}, args...)
	c := exec.CommandContext(ctx, "ip", full...)
	var stderr bytes.Buffer
	c.Stderr = &stderr
	out, err := c.Output()
	if err != nil {
		return out, fmt.Errorf("kadnode %s %s on %s: %w: %s", cmd, strings.Join(args, " "), n.Host.Name, err, bytes.TrimSpace(stderr.Bytes()))
	}
	return out, nil
}

// LookupResult is `kadnode lookup --json`'s output, the parts tests use.
type LookupResult struct {
	Found bool   `json:"found"`
	Addr  string `json:"addr"`
	Stats struct {
		Queries    int     `json:"queries"`
		Responses  int     `json:"responses"`
		Timeouts   int     `json:"timeouts"`
		DurationMs float64 `json:"duration_ms"`
	} `json:"stats"`
	Closest []struct {
		ID   string `json:"id"`
		Addr string `json:"addr"`
	} `json:"closest"`
}

// Lookup runs `kadnode lookup --json target` on the node. A lookup that
// does not find the target still returns its result.
func (n *Node) Lookup(target string) (LookupResult, error) {
	var r LookupResult
	out, err := n.Client("lookup", "--json", target)
	if jerr := json.Unmarshal(out, &r); jerr != nil {
		if err == nil {
			err = fmt.Errorf("lookup output %q: %w", out, jerr)
		}
		return r, err
	}
	return r, nil
}

// Ping runs `kadnode ping contact` on the node.
func (n *Node) Ping(contact string) error {
	_, err := n.Client("ping", contact)
	return err
}

// TableEntry is one line of `kadnode nodes --json`.
type TableEntry struct {
	ID    string `json:"id"`
	Addr  string `json:"addr"`
	State string `json:"state"`
}

// Table lists the node's routing table.
func (n *Node) Table() ([]TableEntry, error) {
	var es []TableEntry
	out, err := n.Client("nodes", "--json")
	if err != nil {
		return nil, err
	}
	return es, json.Unmarshal(out, &es)
}

// Holds reports whether the node's table (buckets or replacements) has id.
func (n *Node) Holds(id string) (bool, error) {
	es, err := n.Table()
	for _, e := range es {
		if e.ID == id {
			return true, err
		}
	}
	return false, err
}

// Self is the part of `kadnode id --json` (the node's /api/self) that
// tests read.
type Self struct {
	ID               string `json:"id"`
	External         string `json:"external"`
	Joined           bool   `json:"joined"`
	Reachability     string `json:"reachability"`
	ClientMode       bool   `json:"client_mode"`
	ClientModeReason string `json:"client_mode_reason"`
}

// Self asks the node's control API who it is.
func (n *Node) Self() (Self, error) {
	var s Self
	out, err := n.Client("id", "--json", "--data-dir", n.dataDir)
	if err != nil {
		return s, err
	}
	return s, json.Unmarshal(out, &s)
}

// WaitFor polls cond until it holds or the deadline passes; it fails the
// test with what and the nodes' logs when it does not.
func WaitFor(t testing.TB, d time.Duration, what string, cond func() bool, logs ...*Node) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			var b strings.Builder
			for _, n := range logs {
				fmt.Fprintf(&b, "\n--- %s (%s) ---\n%s", n.Host.Name, n.ID, tail(n.Logs(), 60))
			}
			t.Fatalf("%s: not within %v%s", what, d, b.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// tail is the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
