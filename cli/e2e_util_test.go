package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kadnode/kadnode/internal/race"
)

// Bounds of the end-to-end tests: generous, since they only cap a hang.
const (
	e2eStartTimeout   = 30 * time.Second // a node prints its contact
	e2eCommandTimeout = 60 * time.Second // one client command
	e2eStopTimeout    = 20 * time.Second // a node exits after SIGTERM
	e2eWaitTimeout    = 30 * time.Second // a condition on the network holds
	e2eNetwork        = "e2e"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
	binDir  string // removed by TestMain
)

// kadnodeBinary builds the command once per test run (with -race when the
// tests run with it) and returns its path.
func kadnodeBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test: builds the binary and runs real processes")
	}
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "kadnode-e2e-")
		if binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "kadnode")
		args := []string{"build", "-o", binPath}
		if race.Enabled {
			args = append(args, "-race")
		}
		cmd := exec.Command("go", append(args, "..")...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// runKadnode runs one client command to completion.
func runKadnode(t *testing.T, dir string, args ...string) cliResult {
	t.Helper()
	return runKadnodeVia(t, nil, dir, args...)
}

// runKadnodeVia runs one client command through a wrapper command, e.g.
// ip netns exec NAME.
func runKadnodeVia(t *testing.T, via []string, dir string, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), e2eCommandTimeout)
	defer cancel()
	argv := append(append(via[:len(via):len(via)], kadnodeBinary(t)), args...)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := cliResult{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ee.Exited():
		r.code = ee.ExitCode()
	default:
		t.Fatalf("kadnode %v: %v\nstderr: %s", args, err, r.stderr)
	}
	return r
}

// runJSON runs a client command that must succeed and decodes its stdout.
func runJSON(t *testing.T, v any, args ...string) {
	t.Helper()
	r := runKadnode(t, "", args...)
	wantExit(t, r, exitOK)
	if err := json.Unmarshal([]byte(r.stdout), v); err != nil {
		t.Fatalf("kadnode %v printed no JSON: %v\n%s", args, err, r.stdout)
	}
}

// daemonProc is one `kadnode run` process.
type daemonProc struct {
	t       *testing.T
	cmd     *exec.Cmd
	contact string // as printed on stdout
	id      string
	listen  string
	api     string
	dataDir string
	logs    *syncBuffer
	exited  chan struct{}
	waitErr error
}

// spawnNode starts `kadnode run` on free loopback ports with a data dir
// of its own and waits for its contact line; extra flags are appended.
func spawnNode(t *testing.T, extra ...string) *daemonProc {
	t.Helper()
	return spawnNodeIn(t, t.TempDir(), extra...)
}

// spawnNodeIn is spawnNode with the data dir dataDir.
func spawnNodeIn(t *testing.T, dataDir string, extra ...string) *daemonProc {
	t.Helper()
	d := &daemonProc{t: t, listen: freeUDPAddr(t), api: freeTCPAddr(t), dataDir: dataDir, logs: &syncBuffer{}}
	args := append([]string{"run", "--listen", d.listen, "--api", d.api, "--data-dir", d.dataDir,
		"--network", e2eNetwork, "--log-level", "debug"}, extra...)
	d.start(t, args)
	return d
}

func (d *daemonProc) start(t *testing.T, args []string) {
	t.Helper()
	d.launch(t, exec.Command(kadnodeBinary(t), args...))
	if want := d.id + "@" + d.listen; d.contact != want {
		t.Fatalf("printed contact %q, want %q", d.contact, want)
	}
}

// launch starts cmd, a `kadnode run`, and waits for its contact line.
func (d *daemonProc) launch(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	args := cmd.Args
	d.t, d.cmd = t, cmd
	if d.logs == nil {
		d.logs = &syncBuffer{}
	}
	d.cmd.Stderr = d.logs
	stdout, err := d.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d.exited = make(chan struct{})
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		for sc.Scan() { // anything else on stdout is a bug; keep it for the report
			fmt.Fprintf(d.logs, "STDOUT: %s\n", sc.Text())
		}
		d.waitErr = d.cmd.Wait()
		close(d.exited)
	}()
	t.Cleanup(func() { d.stop() })
	select {
	case line, ok := <-lines:
		if !ok {
			<-d.exited
			t.Fatalf("kadnode %v exited before printing its contact: %v\n%s", args, d.waitErr, d.logs)
		}
		d.contact = line
	case <-time.After(e2eStartTimeout):
		t.Fatalf("kadnode %v printed no contact within %v\n%s", args, e2eStartTimeout, d.logs)
	}
	d.id, _, _ = strings.Cut(d.contact, "@")
}

// stop sends SIGTERM and returns the exit status; a node that does not
// exit in time is killed and fails the test.
func (d *daemonProc) stop() int {
	d.t.Helper()
	select {
	case <-d.exited:
	default:
		_ = d.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.exited:
		case <-time.After(e2eStopTimeout):
			_ = d.cmd.Process.Kill()
			<-d.exited
			d.t.Errorf("kadnode did not exit within %v of SIGTERM\n%s", e2eStopTimeout, d.logs)
		}
	}
	return d.cmd.ProcessState.ExitCode()
}

// self asks the node's API who it is.
func (d *daemonProc) self(t *testing.T) selfJSON {
	t.Helper()
	var s selfJSON
	runJSON(t, &s, "id", "--data-dir", d.dataDir, "--api", d.api, "--json")
	return s
}

// nodes lists the node's table through the CLI.
func (d *daemonProc) nodes(t *testing.T) []nodeJSON {
	t.Helper()
	var ns []nodeJSON
	runJSON(t, &ns, "nodes", "--api", d.api, "--json")
	return ns
}

// waitJoined waits until the node reports its bootstrap done.
func (d *daemonProc) waitJoined(t *testing.T) {
	t.Helper()
	waitFor(t, "node "+d.contact+" to join", func() bool { return d.self(t).Joined })
}

// hasContact reports whether the node's table holds id at addr.
func (d *daemonProc) hasContact(t *testing.T, id, addr string) bool {
	for _, n := range d.nodes(t) {
		if n.ID == id && n.Addr == addr {
			return true
		}
	}
	return false
}

// waitFor polls cond until it holds or e2eWaitTimeout passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(e2eWaitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", e2eWaitTimeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// freeUDPAddr and freeTCPAddr return a loopback address whose port was free
// a moment ago.
func freeUDPAddr(t *testing.T) string {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().String()
}

func freeTCPAddr(t *testing.T) string { return closedTCPAddr(t) }

// syncBuffer is a bytes.Buffer safe for a writer goroutine and a reader.
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
