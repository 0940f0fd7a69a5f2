package store

import (
	"time"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/cockroachdb/pebble"
	"github.com/kadnode/kadnode/kad"
)

// Write path. Pebble with NoSync keeps a committed WAL record in a user-space
// buffer until a 32 KiB block fills or someone syncs, so a NoSync write that
// has returned is lost if the process is killed. Every structural change is
// therefore committed with Sync, and Put/Delete/Update return after the sync
// (which, with WALSyncInterval, is a write to the operating system; see
// walsync.go).
//
// Group commit comes from Pebble: a caller applies its batch under applyMu
// (ApplyNoSyncWait: the record goes into the WAL buffer and the memtable, in
// order) and waits for the sync outside it (SyncWait). Pebble marks that pair
// experimental; CockroachDB writes its Raft log with it, and the store's
// crash and fault tests pin its behaviour in the Pebble version in go.mod. Pebble's WAL writer
// does one write and one fsync at a time, for every record queued since the
// previous one, so N concurrent callers share one fsync. Applying under
// applyMu also orders structural changes with the touch flush.
//
// Last-seen-only updates (Touch) are only remembered, newest per contact,
// and written once per TouchInterval and on Close: at most one write per
// contact per interval. A structural change to a contact supersedes its
// pending touch. Touches are not durable before they are written; losing
// one loses a last-seen time, which the node re-learns.

// Put writes a structural change (insert, address change, promotion, failure
// count). It returns once the change is durable.
func (s *Store) Put(c kad.Contact) error { return s.Update([]kad.Contact{c}, nil) }

// Delete removes a contact. It returns once the change is durable.
func (s *Store) Delete(id krpc.ID) error { return s.Update(nil, []krpc.ID{id}) }

// Update writes several structural changes atomically (for example an
// eviction and the promotion that fills its place): puts first, then
// deletes. It returns once they are durable.
func (s *Store) Update(puts []kad.Contact, deletes []krpc.ID) error {
	for _, c := range puts {
		if err := checkContact(c); err != nil {
			return err
		}
	}
	s.applyMu.Lock()
	s.mu.Lock()
	if err := s.writableLocked(false); err != nil {
		s.mu.Unlock()
		s.applyMu.Unlock()
		return err
	}
	for _, c := range puts {
		s.dropTouchLocked(c.ID)
	}
	for _, id := range deletes {
		s.dropTouchLocked(id)
	}
	s.inflight.Add(1)
	s.mu.Unlock()
	defer s.inflight.Done()

	b := s.db.NewBatch()
	setContacts(b, puts)
	var key [1 + idLen]byte
	for _, id := range deletes {
		_ = b.Delete(putContactKey(&key, id), nil)
	}
	if err := s.commit(b); err != nil {
		return err
	}
	s.stats.puts.Add(uint64(len(puts)))
	s.stats.deletes.Add(uint64(len(deletes)))
	return nil
}

// Touch records a last-seen-only update, coalesced per TouchInterval. It does
// not write; see the comment at the top of this file.
func (s *Store) Touch(c kad.Contact) error {
	if err := checkContact(c); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.writableLocked(false); err != nil {
		return err
	}
	if s.pending.put(c) {
		s.stats.coalesced.Add(1)
	}
	return nil
}

// flushTouches writes the pending touches, if any, as one batch. Close
// passes closing to write them after the store stopped taking changes.
func (s *Store) flushTouches(closing bool) error {
	s.applyMu.Lock()
	s.mu.Lock()
	err := s.writableLocked(closing)
	if err != nil || s.pending.len() == 0 {
		s.mu.Unlock()
		s.applyMu.Unlock()
		return err
	}
	b := s.db.NewBatch()
	setContacts(b, s.pending.list)
	n := s.pending.len()
	s.pending.reset()
	s.mu.Unlock()
	if err := s.commit(b); err != nil {
		return err
	}
	s.stats.touches.Add(uint64(n))
	return nil
}

// setContacts adds the records of cs to b. Every contact has passed
// checkContact, in Update or Touch.
func setContacts(b *pebble.Batch, cs []kad.Contact) {
	var key [1 + idLen]byte
	var rec []byte
	for _, c := range cs {
		rec = appendCheckedContact(rec[:0], c)
		_ = b.Set(putContactKey(&key, c.ID), rec, nil)
	}
}

// writableLocked reports why the store takes no writes, if it does not.
func (s *Store) writableLocked(closing bool) error {
	if s.closed && !closing {
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

// commit applies b, releases applyMu (which the caller holds), and waits
// for b's sync. A failure fails the store before applyMu is released, so
// that nobody else applies to a Pebble that has just failed (see guard.go).
func (s *Store) commit(b *pebble.Batch) error {
	err := s.applyBatch(b)
	if err != nil {
		err = failedError("write to "+s.dir, err)
		s.fail(err)
	}
	s.applyMu.Unlock()
	if err == nil {
		if err = s.syncWait(b); err != nil {
			err = failedError("sync of "+s.dir, err)
			s.fail(err)
		}
	}
	if err != nil {
		return err // b is not closed: Pebble may still reference it
	}
	s.stats.writes.Add(1)
	_ = b.Close()
	return nil
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

// startTasks starts the store's timed tasks (internal/tasks), which hold
// no goroutine between runs: the pending touches are written every
// TouchInterval and, with WALSyncInterval, the WAL is fsynced. Close
// stops them.
func (s *Store) startTasks() {
	s.tasks.Every(s.opts.TouchInterval, func() time.Duration {
		_ = s.flushTouches(false) // a failure is recorded by commit
		return s.opts.TouchInterval
	})
	if s.wal != nil {
		s.tasks.Every(s.opts.WALSyncInterval, func() time.Duration {
			s.syncWAL()
			return s.opts.WALSyncInterval
		})
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
