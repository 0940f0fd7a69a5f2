package node

import (
	"time"

	"github.com/anacrolix/dht/v2/krpc"

	"github.com/kadnode/kadnode/store"
)

// The table's write-through to the Store. A failing store must not break
// the table: the error is logged, rate-limited per kind of operation, and
// the table keeps serving from memory.

type storeOp int

const (
	opPut storeOp = iota
	opDelete
	opTouch
	numStoreOps
)

var storeOpNames = [numStoreOps]string{"put", "delete", "touch"}

type storeErrorLog struct {
	last       time.Time
	suppressed int
}

func (t *Table) put(c store.Contact) { t.storeDone(opPut, c.ID, t.store.Put(c)) }
func (t *Table) del(id krpc.ID)      { t.storeDone(opDelete, id, t.store.Delete(id)) }
func (t *Table) touch(c store.Contact) {
	t.storeDone(opTouch, c.ID, t.store.Touch(c))
}

func (t *Table) storeDone(op storeOp, id krpc.ID, err error) {
	if err == nil {
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

// nopStore keeps nothing, for a table that lives in memory only.
type nopStore struct{}

func (nopStore) Load() ([]store.Contact, error) { return nil, nil }
func (nopStore) Put(store.Contact) error        { return nil }
func (nopStore) Delete(krpc.ID) error           { return nil }
func (nopStore) Touch(store.Contact) error      { return nil }
