package store

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/kadnode/kadnode/kad"
)

// roleReopenWedged runs childReopenWedged.
const roleReopenWedged = "reopen-wedged"

// A full disk fails the memtable rotation, where Pebble panics with its
// locks held and the store is wedged (guard.go). The Reopener must still
// get the directory back once the disk heals, without the process
// restarting, and write the whole table into the new store. It runs in a
// child process, because the wedged Pebble keeps its goroutines.
func TestReopenerRecoversAWedgedStore(t *testing.T) {
	dir := t.TempDir()
	c := startChild(t, roleReopenWedged, dir)
	var report string
	for c.lines.Scan() {
		report = c.lines.Text()
	}
	if err := c.cmd.Wait(); err != nil {
		t.Fatalf("child failed: %v", err)
	}
	t.Logf("child: %s", report)
	fields := strings.Fields(report)
	if len(fields) != 3 || fields[0] != "table" || fields[2] != "panicked" {
		t.Fatalf("child reported %q, want \"table N panicked\": the failure did not wedge the store, so the test no longer covers it", report)
	}
	n, err := strconv.Atoi(fields[1])
	if err != nil {
		t.Fatal(err)
	}
	want := map[krpc.ID]kad.Contact{}
	for i := range n {
		want[testID(i)] = testContact(i)
	}
	checkContacts(t, loadT(t, openT(t, dir, testOptions())), want)
}

// childReopenWedged puts contacts until a full disk (new files cannot be
// made) fails the store, heals the disk, waits for the Reopener, puts a
// few more and closes. Its table is every contact it tried to put; it
// prints "table N panicked" when the failure went through Pebble's panic.
func childReopenWedged(dir string) error {
	disk := &faultyDisk{errno: syscall.ENOSPC, createOnly: true}
	o := testOptions()
	o.fs = disk.fs()
	o.MemTableSize = 64 << 10 // rotate every few hundred contacts
	r, err := OpenReopener(dir, o, 10*time.Millisecond)
	if err != nil {
		return err
	}
	var tableLen atomic.Int64 // the table the Reopener writes back: contacts 0 to tableLen-1
	r.WriteBack(func() []kad.Contact {
		cs := make([]kad.Contact, tableLen.Load())
		for i := range cs {
			cs[i] = testContact(i)
		}
		return cs
	})
	const breakAfter = 300
	var putErr error
	for i := 0; i < 20_000 && putErr == nil; i++ {
		if i == breakAfter {
			disk.broken.Store(true)
		}
		tableLen.Store(int64(i + 1))
		putErr = r.Put(testContact(i))
	}
	if !errors.Is(putErr, kad.ErrStoreFailed) {
		return fmt.Errorf("put on a full disk: %v, want ErrStoreFailed", putErr)
	}
	panicked := strings.Contains(putErr.Error(), "panicked")
	disk.broken.Store(false)
	deadline := time.Now().Add(30 * time.Second)
	for r.Health().Err != nil || r.Health().Reopens == 0 {
		if time.Now().After(deadline) {
			return fmt.Errorf("the store did not reopen: %+v", r.Health())
		}
		time.Sleep(5 * time.Millisecond)
	}
	for range 10 {
		i := int(tableLen.Load())
		tableLen.Store(int64(i + 1))
		if err := r.Put(testContact(i)); err != nil {
			return fmt.Errorf("put after the reopen: %w", err)
		}
	}
	if err := r.Close(); err != nil {
		return fmt.Errorf("close after the reopen: %w", err)
	}
	mark := "clean"
	if panicked {
		mark = "panicked"
	}
	fmt.Printf("table %d %s\n", tableLen.Load(), mark)
	return nil
}
