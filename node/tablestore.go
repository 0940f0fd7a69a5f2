package node

import (
	"errors"
	"time"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/kadnode/kadnode/kad"
)

// The table's write-through to the Store. A change only marks its contact
// dirty; a flusher goroutine, started by the first change after a quiet
// spell and ending when nothing is left, writes what is dirty, so the
// table's lock is never held across a (synced) store write, a burst of
// changes costs one batch, and a table at rest holds no goroutine. Only the final state of a contact is written: present
// means Put (or Touch if only its timestamps moved), absent means Delete.
// A failing store must not break the table: the error is logged,
// rate-limited per kind of operation, and the table keeps serving from
// memory.

// batchWriter is implemented by a store that can write several changes
// atomically (store.Store does), so that an eviction and the promotion
// filling its place land together.
type batchWriter interface {
	Update(puts []kad.Contact, deletes []krpc.ID) error
}

type storeOp int

const (
	opPut storeOp = iota
	opDelete
	opTouch
	opUpdate
	numStoreOps
)

var storeOpNames = [numStoreOps]string{"put", "delete", "touch", "update"}

type storeErrorLog struct {
	last       time.Time
	suppressed int
}

// put, del and touch mark a change for the flusher; t.mu is held.
func (t *Table) put(c kad.Contact) { t.markDirty(c.ID) }
func (t *Table) del(id krpc.ID)    { t.markDirty(id) }

func (t *Table) markDirty(id krpc.ID) {
	if t.store != nil && !t.closed {
		t.dirty[id] = struct{}{}
		delete(t.touched, id)
		t.kickFlusher()
	}
}

func (t *Table) touch(c kad.Contact) {
	if t.store != nil && !t.closed {
		if _, ok := t.dirty[c.ID]; !ok {
			t.touched[c.ID] = struct{}{}
			t.kickFlusher()
		}
	}
}

// kickFlusher starts the flusher unless it runs: a running one flushes
// again for what changed meanwhile. t.mu is held.
func (t *Table) kickFlusher() {
	if t.flushing {
		return
	}
	t.flushing = true
	t.flusher.Add(1)
	go t.runFlusher()
}

// runFlusher writes dirty contacts until none are left.
func (t *Table) runFlusher() {
	defer t.flusher.Done()
	for {
		t.Flush()
		t.mu.Lock()
		idle := len(t.dirty) == 0 && len(t.touched) == 0
		if idle {
			t.flushing = false
		}
		t.mu.Unlock()
		if idle {
			return
		}
	}
}

// Flush writes every change made so far to the store and returns when the
// store has taken them. Close flushes too.
func (t *Table) Flush() {
	if t.store == nil {
		return
	}
	t.flushMu.Lock()
	defer t.flushMu.Unlock()
	var puts, touches []kad.Contact
	var dels []krpc.ID
	t.mu.Lock()
	for id := range t.dirty {
		if c, ok := t.getLocked(id); ok {
			puts = append(puts, c)
		} else {
			dels = append(dels, id)
		}
	}
	for id := range t.touched {
		if c, ok := t.getLocked(id); ok {
			touches = append(touches, c)
		}
	}
	clear(t.dirty)
	clear(t.touched)
	t.mu.Unlock()

	if bw, ok := t.store.(batchWriter); ok && len(puts)+len(dels) > 0 {
		t.storeDone(opUpdate, krpc.ID{}, bw.Update(puts, dels))
	} else {
		for _, c := range puts {
			t.storeDone(opPut, c.ID, t.store.Put(c))
		}
		for _, id := range dels {
			t.storeDone(opDelete, id, t.store.Delete(id))
		}
	}
	for _, c := range touches {
		t.storeDone(opTouch, c.ID, t.store.Touch(c))
	}
}

// storeDone logs a store error; flushMu is held.
func (t *Table) storeDone(op storeOp, id krpc.ID, err error) {
	if err == nil {
		return
	}
	if errors.Is(err, kad.ErrStoreFailed) {
		// The store has put itself in the failed state and said so in
		// its own error line; one broken disk should read as one error.
		t.log.Debug("routing table: store write failed", "op", storeOpNames[op], "id", id, "err", err)
		return
	}
	e := &t.storeErrs[op]
	now := t.now()
	if !e.last.IsZero() && now.Sub(e.last) < StoreErrorLogInterval {
		e.suppressed++
		return
	}
	t.log.Error("routing table: store write failed; the table keeps serving from memory",
		"op", storeOpNames[op], "id", id, "err", err, "suppressed_since_last", e.suppressed)
	e.last, e.suppressed = now, 0
}
