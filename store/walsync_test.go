package store

import (
	"errors"
	"syscall"
	"testing"
	"time"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/kadnode/kadnode/kad"
)

func TestDeferredWALSyncHappensAndCloseSyncs(t *testing.T) {
	dir := t.TempDir()
	o := testOptions()
	o.WALSyncInterval = 5 * time.Millisecond
	s, err := Open(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(testContact(1)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a deferred WAL fsync", func() bool { return s.Stats().WALSyncs >= 1 })
	synced := s.Stats().WALSyncs
	if err := s.Put(testContact(2)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the next deferred WAL fsync", func() bool { return s.Stats().WALSyncs > synced })
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openT(t, dir, o)
	checkContacts(t, loadT(t, s), map[krpc.ID]kad.Contact{testID(1): testContact(1), testID(2): testContact(2)})
}

func TestDeferredWALSyncFailureFailsTheStore(t *testing.T) {
	disk := &faultyDisk{errno: syscall.EIO, syncOnly: true}
	o := testOptions()
	o.fs = disk.fs()
	o.WALSyncInterval = 5 * time.Millisecond
	s, err := Open(t.TempDir(), o)
	if err != nil {
		t.Fatal(err)
	}
	disk.broken.Store(true)
	// The write reaches the operating system, so Put succeeds...
	if err := s.Put(testContact(1)); err != nil {
		t.Fatalf("Put with a failing fsync but working writes: %v", err)
	}
	// ...and the failed fsync that follows fails the store.
	waitFor(t, "the store to fail", func() bool { return s.Stats().Errors > 0 })
	if err := s.Put(testContact(2)); !errors.Is(err, kad.ErrStoreFailed) || !errors.Is(err, syscall.EIO) {
		t.Fatalf("Put after a failed WAL fsync: %v, want ErrStoreFailed wrapping EIO", err)
	}
	if err := within(t, "Close", s.Close); !errors.Is(err, kad.ErrStoreFailed) {
		t.Fatalf("Close: %v, want ErrStoreFailed", err)
	}
}
