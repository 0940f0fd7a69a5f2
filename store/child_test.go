package store

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Child roles of the re-executed test binary; the store directory is in
// childDirEnv.
const (
	childDirEnv = "KADNODE_STORE_TEST_DIR"
	// roleHold opens the store, prints "open", and holds it until stdin closes.
	roleHold = "hold"
	// rolePut puts contacts from several goroutines and prints each index
	// after its Put has returned, until killed (or crashPutLimit).
	rolePut = "put"
	// rolePutItems is rolePut with BEP 44 items.
	rolePutItems = "putitems"
	// crashPutLimit bounds the put role if nobody kills it.
	crashPutLimit = 200_000
	// crashWriters is the put role's number of concurrent writers.
	crashWriters = 8
	// childWALSyncEnv, if set, is the put role's WALSyncInterval.
	childWALSyncEnv = "KADNODE_STORE_TEST_WAL_SYNC"
	// roleDiskFull runs childDiskFull, breaking the disk after childBreakEnv puts.
	roleDiskFull  = "diskfull"
	childBreakEnv = "KADNODE_STORE_TEST_BREAK_AFTER"
)

// runChild runs a role and returns its exit status.
func runChild(role string) int {
	dir := os.Getenv(childDirEnv)
	if role == roleReopenWedged {
		if err := childReopenWedged(dir); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 5
		}
		return 0
	}
	if role == roleDiskFull {
		var n int
		var createOnly bool
		_, _ = fmt.Sscanf(os.Getenv(childBreakEnv), "%d,%t", &n, &createOnly)
		if err := childDiskFull(dir, n, createOnly); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 5
		}
		return 0
	}
	o := testOptions()
	o.WALSyncInterval, _ = time.ParseDuration(os.Getenv(childWALSyncEnv))
	s, err := Open(dir, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	switch role {
	case roleHold:
		fmt.Println("open")
		_, _ = io.Copy(io.Discard, os.Stdin)
	case rolePut:
		childPut(s)
	case rolePutItems:
		childPutItems(s)
	default:
		fmt.Fprintf(os.Stderr, "unknown child role %q\n", role)
		return 2
	}
	if err := s.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 4
	}
	return 0
}

func childPut(s *Store) {
	var out sync.Mutex
	var wg sync.WaitGroup
	for w := range crashWriters {
		wg.Go(func() {
			for i := w; i < crashPutLimit; i += crashWriters {
				if err := s.Put(testContact(i)); err != nil {
					fmt.Fprintln(os.Stderr, err)
					return
				}
				out.Lock()
				os.Stdout.WriteString(strconv.Itoa(i) + "\n") // unbuffered: in the pipe once written
				out.Unlock()
			}
		})
	}
	wg.Wait()
}

// child is a running child process with its stdout as lines.
type child struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines *bufio.Scanner
}

func startChild(t *testing.T, role, dir string) *child {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+role, childDirEnv+"="+dir)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, stdin: stdin, lines: bufio.NewScanner(stdout)}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return c
}

// line returns the child's next output line, failing the test at EOF.
func (c *child) line(t *testing.T) string {
	t.Helper()
	if !c.lines.Scan() {
		t.Fatalf("child exited early (%v)", c.lines.Err())
	}
	return c.lines.Text()
}
