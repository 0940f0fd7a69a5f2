package store

import (
	"time"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/cockroachdb/pebble"
)

// Write path. Pebble with NoSync keeps a committed WAL record in a user-space
// buffer until a 32 KiB block fills or someone syncs, so a NoSync write that
// has returned is lost if the process is killed. Every structural change is
// therefore committed with Sync before Put/Delete/Update return. To make that
// affordable, callers do not commit themselves: they add their change to the
// open group and wait, and one writer goroutine commits the whole group as
// one synced batch (group commit). N concurrent callers cost one fsync.
//
// Last-seen-only updates (Touch) are only remembered, newest per contact, and
// written by the writer once per TouchInterval and on Close: at most one write
// per contact per interval. A structural change to a contact supersedes its
// pending touch. Touches are not durable before they are written; losing
// one loses a last-seen time, which the node re-learns.

// group is a set of changes committed together.
type group struct {
	batch   *pebble.Batch
	touches int           // touch records in batch, counted once written
	done    chan struct{} // closed when committed (or failed)
	err     error         // set before done is closed
}

// Put writes a structural change (insert, address change, promotion, failure
// count). It returns once the change is synced to disk.
func (s *Store) Put(c Contact) error { return s.Update([]Contact{c}, nil) }

// Delete removes a contact. It returns once the change is synced to disk.
func (s *Store) Delete(id krpc.ID) error { return s.Update(nil, []krpc.ID{id}) }

// Update writes several structural changes atomically (for example an
// eviction and the promotion that fills its place): puts first, then
// deletes. It returns once they are synced to disk.
func (s *Store) Update(puts []Contact, deletes []krpc.ID) error {
	recs := make([][]byte, len(puts))
	for i, c := range puts {
		rec, err := appendContact(nil, c)
		if err != nil {
			return err
		}
		recs[i] = rec
	}
	s.mu.Lock()
	if err := s.writableLocked(); err != nil {
		s.mu.Unlock()
		return err
	}
	g := s.groupLocked()
	for i, c := range puts {
		_ = g.batch.Set(contactKey(c.ID), recs[i], nil) // fails only on a committed batch
		s.dropTouchLocked(c.ID)
	}
	for _, id := range deletes {
		_ = g.batch.Delete(contactKey(id), nil)
		s.dropTouchLocked(id)
	}
	s.mu.Unlock()
	s.stats.puts.Add(uint64(len(puts)))
	s.stats.deletes.Add(uint64(len(deletes)))
	return s.wait(g)
}

// Touch records a last-seen-only update, coalesced per TouchInterval. It does
// not write; see the comment at the top of this file.
func (s *Store) Touch(c Contact) error {
	if err := checkContact(c); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.writableLocked(); err != nil {
		return err
	}
	if s.pending.put(c) {
		s.stats.coalesced.Add(1)
	}
	return nil
}

// flushTouches writes the pending touches now and waits for the write.
func (s *Store) flushTouches() error {
	s.mu.Lock()
	if err := s.writableLocked(); err != nil {
		s.mu.Unlock()
		return err
	}
	g := s.queueTouchesLocked()
	s.mu.Unlock()
	if g == nil {
		return nil
	}
	return s.wait(g)
}

func (s *Store) writableLocked() error {
	if s.closed {
		return ErrClosed
	}
	return s.failed
}

// dropTouchLocked forgets a pending touch that a structural change supersedes.
func (s *Store) dropTouchLocked(id krpc.ID) {
	if s.pending.drop(id) {
		s.stats.coalesced.Add(1)
	}
}

// groupLocked returns the open group, starting one if needed.
func (s *Store) groupLocked() *group {
	if s.open == nil {
		s.open = &group{batch: s.db.NewBatch(), done: make(chan struct{})}
	}
	return s.open
}

// queueTouchesLocked moves the pending touches into the open group, which it
// returns (nil if there were none). Moving them under s.mu orders them with
// structural changes: an earlier Put is in this group or an earlier one, a
// later one in a later group.
func (s *Store) queueTouchesLocked() *group {
	if s.pending.len() == 0 {
		return nil
	}
	g := s.groupLocked()
	var rec []byte
	for _, c := range s.pending.list {
		rec, _ = appendContact(rec[:0], c) // checked by Touch
		_ = g.batch.Set(contactKey(c.ID), rec, nil)
	}
	g.touches += s.pending.len()
	s.pending.reset()
	s.kickWriter()
	return g
}

// wait hands g to the writer and waits for its commit.
func (s *Store) wait(g *group) error {
	s.kickWriter()
	<-g.done
	return g.err
}

func (s *Store) kickWriter() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// run is the writer goroutine: it commits groups as they come, writes the
// touches every TouchInterval, and on Close writes what is left and exits.
func (s *Store) run() {
	defer close(s.finished)
	tick := time.NewTicker(s.opts.TouchInterval)
	defer tick.Stop()
	var walTick <-chan time.Time
	if s.wal != nil {
		t := time.NewTicker(s.opts.WALSyncInterval)
		defer t.Stop()
		walTick = t.C
	}
	for {
		select {
		case <-s.kick:
		case <-walTick:
			s.syncWAL()
		case <-tick.C:
			s.mu.Lock()
			if s.failed == nil {
				s.queueTouchesLocked()
			}
			s.mu.Unlock()
		case <-s.quit:
			s.mu.Lock()
			if s.failed == nil {
				s.queueTouchesLocked()
			}
			s.mu.Unlock()
			s.commitOpen()
			return
		}
		s.commitOpen()
	}
}

// syncWAL fsyncs the WAL files written since the last time (deferred sync).
func (s *Store) syncWAL() {
	n, err := s.wal.syncAll()
	s.stats.walSyncs.Add(uint64(n))
	if err != nil {
		s.fail(failedError("sync of the WAL in "+s.dir, err))
	}
}

// fail puts the store in the failed state: later writes return err.
func (s *Store) fail(err error) {
	s.stats.errors.Add(1)
	s.mu.Lock()
	if s.failed == nil {
		s.failed = err
	}
	s.mu.Unlock()
	s.log.Error("store write failed; continuing from memory", "dir", s.dir, "err", err)
}

// commitOpen commits the open group, if any, and wakes its waiters. After a
// failure the store stays failed: Pebble's WAL is in an unknown state.
func (s *Store) commitOpen() {
	s.mu.Lock()
	g, failed := s.open, s.failed
	s.open = nil
	s.mu.Unlock()
	if g == nil {
		return
	}
	if failed != nil {
		g.err = failed
		close(g.done)
		return
	}
	if err := s.commitBatch(g.batch); err != nil {
		g.err = failedError("write to "+s.dir, err)
		s.fail(g.err)
		// The batch is not closed: Pebble may still reference it.
	} else {
		s.stats.writes.Add(1)
		s.stats.touches.Add(uint64(g.touches))
		_ = g.batch.Close()
	}
	close(g.done)
}
