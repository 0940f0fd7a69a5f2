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
// refuses writes (ErrFailed): the node carries on from memory. A few Pebble
// paths panic instead; calls into Pebble from the store recover and turn
// that into an error too.

// setPebbleFatal records the first fatal condition Pebble reported.
func (s *Store) setPebbleFatal(err error) {
	s.pebbleFatal.CompareAndSwap(nil, &err)
	s.stats.errors.Add(1)
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

// commitBatch commits b synced. Any failure, reported by Commit, by Fatalf
// or by a panic, is returned.
func (s *Store) commitBatch(b *pebble.Batch) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("pebble panicked while committing: %v", r)
		}
		if err == nil {
			err = s.fatalError()
		}
	}()
	return b.Commit(pebble.Sync)
}
