package store

import (
	"strconv"
	"syscall"
	"testing"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/kadnode/kadnode/kad"
)

// crashAfter is how many returned Puts the parent waits for before it kills
// the child.
const crashAfter = 2000

// TestPutSurvivesSIGKILL: a child puts contacts from several goroutines and
// prints each one after Put returns; it is killed mid-way. Every printed
// contact must be in the store, which must open cleanly. With a deferred
// WAL sync of an hour, no fsync happens before the kill: what Put promised
// (the record is in the operating system) must be enough.
func TestPutSurvivesSIGKILL(t *testing.T) {
	for _, walSync := range []string{"", "1h"} {
		t.Run("WALSyncInterval="+walSync, func(t *testing.T) {
			t.Setenv(childWALSyncEnv, walSync)
			testPutSurvivesSIGKILL(t)
		})
	}
}

func testPutSurvivesSIGKILL(t *testing.T) {
	dir := t.TempDir()
	c := startChild(t, rolePut, dir)
	var returned []int
	for len(returned) < crashAfter {
		i, err := strconv.Atoi(c.line(t))
		if err != nil {
			t.Fatal(err)
		}
		returned = append(returned, i)
	}
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// Lines already in the pipe were printed after their Put returned too.
	for c.lines.Scan() {
		i, err := strconv.Atoi(c.lines.Text())
		if err != nil {
			break // a line cut by the kill
		}
		returned = append(returned, i)
	}
	err := c.cmd.Wait()
	if ws, ok := c.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child was not killed mid-way (%v): raise crashPutLimit", err)
	}

	s := openT(t, dir, testOptions())
	stored := map[krpc.ID]kad.Contact{}
	for _, c := range loadT(t, s) {
		stored[c.ID] = c
	}
	for _, i := range returned {
		want := testContact(i)
		if got, ok := stored[want.ID]; !ok || !sameContact(got, want) {
			t.Fatalf("contact %d returned from Put before the kill but is %v in the store (%+v)", i, ok, got)
		}
	}
	t.Logf("%d returned Puts all present; %d contacts stored", len(returned), len(stored))
}
