package store

import (
	"fmt"

	"github.com/cockroachdb/pebble"
)

// Pebble treats some I/O failures as fatal: a failed WAL write or sync in a
// commit, and a failed MANIFEST write, call Logger.Fatalf, whose default
// implementation exits the process. After a failed commit Pebble's Apply
// still returns nil. The store therefore installs a logger whose Fatalf
// records the condition, checks it after every commit, and from then on
// refuses writes (kad.ErrStoreFailed): the node carries on from memory.
//
// Other paths panic by design: a WAL that cannot be rotated when the memtable
// is full (rotateWAL), a write to a WAL that has already failed (commitWrite).
// They panic with Pebble's commit and DB mutexes held, so after recovering,
// every later call that takes them (Close among them) would block forever.
// The store recovers such a panic into kad.ErrStoreFailed, marks itself wedged and
// from then on does not call into Pebble at all: Close releases only what
// the store itself holds; the directory lock goes with the process. On the
// next start Pebble replays its WAL as after a crash, so every write that
// was acknowledged is there.

// setPebbleFatal records the first fatal condition Pebble reported; the
// write that meets it fails and is counted.
func (s *Store) setPebbleFatal(err error) {
	s.pebbleFatal.CompareAndSwap(nil, &err)
}

// fatalError returns the recorded fatal condition, if any.
func (s *Store) fatalError() error {
	if p := s.pebbleFatal.Load(); p != nil {
		return *p
	}
	return nil
}

// backgroundError is Pebble's report of a failed flush or compaction, which
// it retries by itself.
func (s *Store) backgroundError(err error) {
	s.stats.errors.Add(1)
	s.log.Warn("store background error", "dir", s.dir, "err", err)
}

// openPebble is pebble.Open, with a panic (possible on some kinds of
// damaged files) turned into an error.
func openPebble(dir string, po *pebble.Options) (db *pebble.DB, err error) {
	defer func() {
		if r := recover(); r != nil {
			db, err = nil, fmt.Errorf("pebble panicked while opening: %v", r)
		}
	}()
	return pebble.Open(dir, po)
}

// closePebble is db.Close, with a panic turned into an error.
func closePebble(db *pebble.DB) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("pebble panicked while closing: %v", r)
		}
	}()
	return db.Close()
}

// applyBatch applies b with a sync requested but not waited for (see
// writer.go).
func (s *Store) applyBatch(b *pebble.Batch) error {
	return s.guarded("committing", func() error { return s.db.ApplyNoSyncWait(b, pebble.Sync) })
}

// syncWait waits for the sync of a batch applied by applyBatch.
func (s *Store) syncWait(b *pebble.Batch) error {
	return s.guarded("syncing", b.SyncWait)
}

// guarded runs a write call into Pebble and returns its failure, whether
// reported by the call, by Fatalf or by a panic (which wedges the store).
func (s *Store) guarded(what string, call func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			s.wedged.Store(true)
			err = fmt.Errorf("pebble panicked while %s: %v", what, r)
		}
		if err == nil {
			err = s.fatalError()
		}
	}()
	return call()
}
