package store

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/kadnode/kadnode/kad"
)

// Recovery after a write failure. A Store that failed refuses writes for
// good (writer.go); a Reopener holds one and, once the data dir's file
// system takes writes again, closes it, opens a fresh one and writes the
// table back, so a daemon recovers from a full or remounted disk without a
// restart.
//
// It also checks the file system before Pebble meets it: a full disk does
// not fail a write at once (the WAL is preallocated), but the next
// memtable rotation then panics inside Pebble with its locks held, which
// wedges the store (guard.go). When the free space falls below what a
// rotation needs, the Reopener fails the store itself, so that writes are
// refused and reported as such while every acknowledged one stays on disk.

// Health is the write state of a Reopener.
type Health struct {
	Err      error     // why changes are not being written; nil when they are
	Since    time.Time // when the current failure began
	Failures uint64    // times the store failed
	Reopens  uint64    // times it was reopened after a failure
	Unsaved  uint64    // changes refused while failed: kept in memory only
}

// Reopener is a Store that reopens itself after a failure. Its methods are
// safe for concurrent use.
type Reopener struct {
	dir   string
	opts  Options
	every time.Duration

	mu       sync.RWMutex // writers hold it shared; a reopen holds it alone
	cur      *Store       // nil while a reopen could not open a new store
	openErr  error        // why cur is nil
	since    time.Time    // when the current failure was first seen
	base     Stats        // counters of the stores closed so far
	snapshot atomic.Pointer[func() []kad.Contact]

	failures, reopens, unsaved atomic.Uint64

	quit, done chan struct{}
}

// OpenReopener opens the store in dir like Open and checks it every
// interval: after a failure it reopens it and writes back what the source
// given to WriteBack holds.
func OpenReopener(dir string, opts Options, interval time.Duration) (*Reopener, error) {
	s, err := Open(dir, opts)
	if err != nil {
		return nil, err
	}
	r := &Reopener{dir: dir, opts: s.opts, every: interval, cur: s,
		quit: make(chan struct{}), done: make(chan struct{})}
	go r.run()
	return r, nil
}

// WriteBack sets what a reopened store is filled with: the routing
// table's contacts at that moment. Without it, a reopened store keeps what
// it held before the failure.
func (r *Reopener) WriteBack(contacts func() []kad.Contact) { r.snapshot.Store(&contacts) }

// Store is the store currently open; nil while none could be reopened.
func (r *Reopener) Store() *Store {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.cur
}

// SelfChanged is the first store's SelfChanged.
func (r *Reopener) SelfChanged() (krpc.ID, bool) { return r.Store().SelfChanged() }

// Load returns the stored contacts.
func (r *Reopener) Load() ([]kad.Contact, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.cur == nil {
		return nil, r.openErr
	}
	return r.cur.Load()
}

// Put, Delete, Touch and Update write to the current store; a change it
// refuses because it failed is counted as kept in memory only.
func (r *Reopener) Put(c kad.Contact) error { return r.write(func(s *Store) error { return s.Put(c) }) }

func (r *Reopener) Delete(id krpc.ID) error {
	return r.write(func(s *Store) error { return s.Delete(id) })
}

func (r *Reopener) Touch(c kad.Contact) error {
	return r.write(func(s *Store) error { return s.Touch(c) })
}

func (r *Reopener) Update(puts []kad.Contact, deletes []krpc.ID) error {
	return r.write(func(s *Store) error { return s.Update(puts, deletes) })
}

func (r *Reopener) write(op func(*Store) error) error {
	r.mu.RLock()
	defer r.mu.RUnlock()
	err := r.openErr
	if r.cur != nil {
		err = op(r.cur)
	}
	if errors.Is(err, kad.ErrStoreFailed) {
		r.unsaved.Add(1)
	}
	return err
}

// Health reports whether changes are being written, and why not.
func (r *Reopener) Health() Health {
	r.mu.RLock()
	h := Health{Err: r.openErr, Since: r.since}
	if r.cur != nil {
		h.Err = r.cur.Err()
	}
	r.mu.RUnlock()
	if h.Err == nil {
		h.Since = time.Time{}
	}
	h.Failures, h.Reopens, h.Unsaved = r.failures.Load(), r.reopens.Load(), r.unsaved.Load()
	return h
}

// Stats adds up the counters of every store opened so far.
func (r *Reopener) Stats() Stats {
	r.mu.RLock()
	defer r.mu.RUnlock()
	st := r.base
	if r.cur != nil {
		st = addStats(st, r.cur.Stats())
	}
	return st
}

// Close stops the checks and closes the current store.
func (r *Reopener) Close() error {
	select {
	case <-r.quit:
		return ErrClosed
	default:
	}
	close(r.quit)
	<-r.done
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cur == nil {
		return r.openErr
	}
	return r.cur.Close()
}

// run checks the store every interval until Close.
func (r *Reopener) run() {
	defer close(r.done)
	tick := time.NewTicker(r.every)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			r.check()
		case <-r.quit:
			return
		}
	}
}

// check fails a healthy store whose disk cannot take a memtable rotation,
// and reopens a failed one whose disk can.
func (r *Reopener) check() {
	diskErr := r.diskProblem()
	r.mu.RLock()
	cur, failed := r.cur, r.openErr
	if cur != nil {
		failed = cur.Err()
	}
	r.mu.RUnlock()
	switch {
	case failed == nil && diskErr != nil:
		if cur.failWith(failedError("check of "+r.dir, diskErr)) {
			r.noteFailure()
		}
	case failed == nil:
	case diskErr == nil:
		r.noteFailure()
		r.reopen()
	default:
		r.noteFailure()
	}
}

// noteFailure counts a failure the first time it is seen.
func (r *Reopener) noteFailure() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.since.IsZero() {
		r.since = time.Now()
		r.failures.Add(1)
	}
}

// diskProblem says why the data dir's file system cannot take the store's
// writes (read-only, or too full for a memtable rotation), if it cannot.
func (r *Reopener) diskProblem() error {
	free, readOnly, err := diskSpace(r.dir)
	switch {
	case err != nil:
		return fmt.Errorf("cannot check the file system of %s: %w", r.dir, err)
	case readOnly:
		return fmt.Errorf("the file system of %s is read-only", r.dir)
	case free < rotationReserve*r.opts.MemTableSize:
		return fmt.Errorf("the file system of %s is full: %d bytes free, the store needs %d to go on; free some space",
			r.dir, free, rotationReserve*r.opts.MemTableSize)
	}
	return nil
}

// reopen closes the failed store, opens a new one and writes the table
// back. Writers wait meanwhile, so that no change falls between the
// snapshot and the new store; any change after the snapshot reaches the
// new store through the table's next flush.
func (r *Reopener) reopen() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cur != nil {
		old := r.cur
		r.cur = nil
		r.base = addStats(r.base, old.Stats())
		if err := old.Close(); err != nil {
			old.log.Info("closed the failed store before reopening it", "dir", r.dir, "err", err)
		}
		old.releaseWedged()
	}
	s, err := Open(r.dir, r.opts)
	if err != nil {
		r.openErr = failedError("reopen of "+r.dir, err)
		return
	}
	r.cur, r.openErr = s, nil
	n, err := r.writeBack(s)
	if err != nil {
		return // s has failed in turn; the next check tries again
	}
	s.log.Warn("store reopened after a failure; the routing table is written back",
		"dir", r.dir, "contacts", n, "failed_for", time.Since(r.since).Round(time.Millisecond))
	r.since = time.Time{}
	r.reopens.Add(1)
}

// writeBack makes s hold the source's contacts and nothing else.
func (r *Reopener) writeBack(s *Store) (int, error) {
	src := r.snapshot.Load()
	if src == nil {
		return 0, nil
	}
	cs := (*src)()
	stored, err := s.Load()
	if err != nil {
		return 0, err
	}
	keep := make(map[krpc.ID]bool, len(cs))
	for _, c := range cs {
		keep[c.ID] = true
	}
	var gone []krpc.ID
	for _, c := range stored {
		if !keep[c.ID] {
			gone = append(gone, c.ID)
		}
	}
	return len(cs), s.Update(cs, gone)
}

// Err is the store's write failure, nil while it takes writes.
func (s *Store) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failed
}

// failWith puts a healthy store in the failed state; it reports whether
// it did.
func (s *Store) failWith(err error) bool {
	s.mu.Lock()
	first := s.failed == nil
	s.mu.Unlock()
	if first {
		s.fail(err)
	}
	return first
}

// releaseWedged releases the directory of a closed store that Pebble left
// wedged (see guard.go), so that a new store can take it. Pebble holds its
// mutexes for good then, so it writes nothing more, and it never drops its
// reference to the lock: that one is dropped here, then the store's own.
func (s *Store) releaseWedged() {
	if s.wedged.Load() && s.lock != nil {
		_ = s.lock.flock.Close()
		_ = s.lock.unlock()
	}
}

func addStats(a, b Stats) Stats {
	return Stats{
		Writes: a.Writes + b.Writes, Coalesced: a.Coalesced + b.Coalesced, Errors: a.Errors + b.Errors,
		Puts: a.Puts + b.Puts, Deletes: a.Deletes + b.Deletes, Touches: a.Touches + b.Touches,
		WALSyncs: a.WALSyncs + b.WALSyncs,
	}
}
