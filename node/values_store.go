package node

import (
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/kadnode/kadnode/kad"
)

// ItemStore persists BEP 44 items; store.Store satisfies it. A node whose
// Store is not an ItemStore keeps its items in memory only.
type ItemStore interface {
	LoadItems() ([]kad.ItemRecord, error)
	PutItems(items []kad.ItemRecord, drop []krpc.ID) error
	DeleteOwnItem(target krpc.ID) error
}

// ValuesConfig holds the BEP 44 parameters; zero values take the defaults
// in constants.go.
type ValuesConfig struct {
	Expiry            time.Duration
	RepublishInterval time.Duration
	MaxItems          int
	MaxBytes          int
	MaxPerSource      int
}

func (c ValuesConfig) withDefaults() ValuesConfig {
	if c.Expiry <= 0 {
		c.Expiry = DefaultItemExpiry
	}
	if c.RepublishInterval <= 0 {
		c.RepublishInterval = DefaultRepublishInterval
	}
	if c.MaxItems <= 0 {
		c.MaxItems = DefaultMaxItems
	}
	if c.MaxBytes <= 0 {
		c.MaxBytes = DefaultMaxItemBytes
	}
	if c.MaxPerSource <= 0 {
		c.MaxPerSource = DefaultMaxItemsPerSource
	}
	return c
}

// heldItem is an item the node holds for others.
type heldItem struct {
	it      kad.Item
	source  netip.Addr
	stored  time.Time // last put (or republish) of this version
	expires time.Time
}

// ownItem is an item the node put and republishes.
type ownItem struct {
	it   kad.Item
	next time.Time // next republish
}

// itemTable holds items in memory, backed by an ItemStore. Its limits:
// MaxItems and MaxBytes for the node, MaxPerSource per source IP; when
// full, a source's oldest item, or the node's farthest one from its own
// ID, makes room.
type itemTable struct {
	self krpc.ID
	cfg  ValuesConfig
	st   ItemStore // nil: memory only
	log  *slog.Logger

	mu        sync.Mutex
	held      map[krpc.ID]*heldItem
	bytes     int
	perSource map[netip.Addr]int
	own       map[krpc.ID]*ownItem
	// gen counts the changes of each held target not yet known written,
	// so that sync writes outside the lock and still leaves the newest
	// version on disk (see sync).
	gen map[krpc.ID]uint64
}

func newItemTable(self krpc.ID, cfg ValuesConfig, st ItemStore, log *slog.Logger) *itemTable {
	return &itemTable{self: self, cfg: cfg, st: st, log: log,
		held: make(map[krpc.ID]*heldItem), perSource: make(map[netip.Addr]int), own: make(map[krpc.ID]*ownItem),
		gen: make(map[krpc.ID]uint64)}
}

// load restores the stored items; expired ones are dropped.
func (t *itemTable) load(now time.Time) error {
	if t.st == nil {
		return nil
	}
	items, err := t.st.LoadItems()
	if err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	var expired []krpc.ID
	for _, si := range items {
		it := kad.Item{V: si.V, K: si.K, Salt: si.Salt, Seq: si.Seq, Sig: si.Sig}
		if si.Own {
			t.own[si.Target] = &ownItem{it: it, next: now}
			continue
		}
		if !now.Before(si.Expires) {
			expired = append(expired, si.Target)
			continue
		}
		t.addLocked(si.Target, &heldItem{it: it, source: si.Source, stored: si.Stored, expires: si.Expires})
	}
	if len(expired) > 0 {
		return t.st.PutItems(nil, expired)
	}
	return nil
}

// get returns the item held at target, if it has not expired.
func (t *itemTable) get(target krpc.ID, now time.Time) (kad.Item, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	h, ok := t.held[target]
	if !ok || !now.Before(h.expires) {
		return kad.Item{}, false
	}
	return h.it, true
}

// put stores a checked item from source, applying BEP 44's rules against
// the stored version: cas must equal the stored seq (301), a lower seq or
// the same seq with another value is refused (302), and the same item
// again only renews its expiry. It returns the refusal, or nil.
func (t *itemTable) put(it kad.Item, cas int64, source netip.Addr, now time.Time) *krpc.Error {
	target := it.Target()
	t.mu.Lock()
	e, changed := t.putLocked(target, it, cas, source, now)
	t.mu.Unlock()
	t.sync(changed)
	return e
}

// putLocked is put under t.mu; it returns the refusal and the targets it
// changed, for sync.
func (t *itemTable) putLocked(target krpc.ID, it kad.Item, cas int64, source netip.Addr, now time.Time) (*krpc.Error, []krpc.ID) {
	if old, ok := t.held[target]; ok && now.Before(old.expires) && old.it.Mutable() {
		switch {
		case cas != 0 && cas != old.it.Seq:
			return &krpc.Error{Code: krpc.ErrorCodeCasHashMismatched,
				Msg: fmt.Sprintf("cas %d does not match the stored seq %d; get the item again and retry", cas, old.it.Seq)}, nil
		case it.Seq < old.it.Seq:
			return &krpc.Error{Code: krpc.ErrorCodeSequenceNumberLessThanCurrent,
				Msg: fmt.Sprintf("seq %d is less than the stored seq %d", it.Seq, old.it.Seq)}, nil
		case it.Seq == old.it.Seq && !it.Equal(&old.it):
			return &krpc.Error{Code: krpc.ErrorCodeSequenceNumberLessThanCurrent,
				Msg: fmt.Sprintf("seq %d is the stored seq, with another value; put a higher seq", it.Seq)}, nil
		}
	}
	h := &heldItem{it: it, source: source, stored: now, expires: now.Add(t.cfg.Expiry)}
	drop, ok := t.makeRoomLocked(target, h)
	if !ok {
		t.changedLocked(drop)
		return &krpc.Error{Code: krpc.ErrorCodeServerError, Msg: "this node's item storage is full of items closer to its ID"}, drop
	}
	t.removeLocked(target)
	t.addLocked(target, h)
	changed := append(drop, target)
	t.changedLocked(changed)
	return nil, changed
}

// changedLocked notes that targets changed in memory.
func (t *itemTable) changedLocked(targets []krpc.ID) {
	for _, tg := range targets {
		t.gen[tg]++
	}
}

// sync writes the current state of targets (a record, or a deletion) to
// the store and returns once it is durable. It runs outside t.mu, so that
// concurrent puts share the store's group commit instead of one fsync
// each in turn. Two syncs of one target may commit in either order: each
// checks afterwards whether the target changed since its snapshot and, if
// so, writes it again, so the last write is of the newest version.
func (t *itemTable) sync(targets []krpc.ID) {
	if t.st == nil {
		return
	}
	for len(targets) > 0 {
		var items []kad.ItemRecord
		var drop []krpc.ID
		gens := make([]uint64, len(targets))
		t.mu.Lock()
		for i, tg := range targets {
			gens[i] = t.gen[tg]
			if h, ok := t.held[tg]; ok {
				items = append(items, h.record(tg))
			} else {
				drop = append(drop, tg)
			}
		}
		t.mu.Unlock()
		if err := t.st.PutItems(items, drop); err != nil {
			t.log.Warn("storing items failed; keeping them in memory", "err", err)
			return
		}
		var again []krpc.ID
		t.mu.Lock()
		for i, tg := range targets {
			if t.gen[tg] != gens[i] {
				again = append(again, tg)
			} else if _, held := t.held[tg]; !held {
				delete(t.gen, tg) // written as gone: nothing left to order
			}
		}
		t.mu.Unlock()
		targets = again
	}
}

// makeRoomLocked drops what must go for h to fit at target: the source's
// oldest item when the source is at its limit, then the items farthest
// from the node's ID while the node is full. It returns the dropped
// targets, and false when h itself is the farthest and does not fit.
func (t *itemTable) makeRoomLocked(target krpc.ID, h *heldItem) ([]krpc.ID, bool) {
	var drop []krpc.ID
	size, count := len(h.it.V), 1
	if old, ok := t.held[target]; ok {
		size -= len(old.it.V)
		count = 0
		if old.source == h.source {
			count = -1 // replaces one of the same source
		}
	}
	if count >= 0 && t.perSource[h.source] >= t.cfg.MaxPerSource {
		var oldest krpc.ID
		var at time.Time
		for tg, o := range t.held {
			if o.source == h.source && tg != target && (at.IsZero() || o.stored.Before(at)) {
				oldest, at = tg, o.stored
			}
		}
		if !at.IsZero() {
			t.removeLocked(oldest)
			drop = append(drop, oldest)
		}
	}
	for len(t.held)+max(count, 0) > t.cfg.MaxItems || t.bytes+size > t.cfg.MaxBytes {
		far, ok := t.farthestLocked(target)
		if !ok || CompareDistance(t.self, far, target) < 0 {
			return drop, false // the newcomer is the farthest: keep what is closer
		}
		t.removeLocked(far)
		drop = append(drop, far)
	}
	return drop, true
}

// farthestLocked returns the held target farthest from the node's ID,
// other than except.
func (t *itemTable) farthestLocked(except krpc.ID) (krpc.ID, bool) {
	var far krpc.ID
	found := false
	for tg := range t.held {
		if tg != except && (!found || CompareDistance(t.self, tg, far) > 0) {
			far, found = tg, true
		}
	}
	return far, found
}

func (t *itemTable) addLocked(target krpc.ID, h *heldItem) {
	t.held[target] = h
	t.bytes += len(h.it.V)
	t.perSource[h.source]++
}

func (t *itemTable) removeLocked(target krpc.ID) {
	h, ok := t.held[target]
	if !ok {
		return
	}
	delete(t.held, target)
	t.bytes -= len(h.it.V)
	if t.perSource[h.source]--; t.perSource[h.source] <= 0 {
		delete(t.perSource, h.source)
	}
}

// persistLocked writes items and drops; a failure is logged, and the node
// goes on from memory (the store reports its own failure state).
func (t *itemTable) persistLocked(items []kad.ItemRecord, drop []krpc.ID) {
	if t.st == nil || (len(items) == 0 && len(drop) == 0) {
		return
	}
	if err := t.st.PutItems(items, drop); err != nil {
		t.log.Warn("storing items failed; keeping them in memory", "err", err)
	}
}

func (h *heldItem) record(target krpc.ID) kad.ItemRecord {
	return kad.ItemRecord{Target: target, V: h.it.V, K: h.it.K, Salt: h.it.Salt, Seq: h.it.Seq, Sig: h.it.Sig,
		Source: h.source, Stored: h.stored, Expires: h.expires}
}

// expire drops the items past their expiry.
func (t *itemTable) expire(now time.Time) int {
	t.mu.Lock()
	var drop []krpc.ID
	for tg, h := range t.held {
		if !now.Before(h.expires) {
			drop = append(drop, tg)
		}
	}
	for _, tg := range drop {
		t.removeLocked(tg)
	}
	t.changedLocked(drop)
	t.mu.Unlock()
	t.sync(drop)
	return len(drop)
}

// dueHeld returns up to limit held items that nobody put for interval:
// the node hands those on itself (the paper's republish rule).
func (t *itemTable) dueHeld(now time.Time, limit int) []kad.Item {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []kad.Item
	for _, h := range t.held {
		if len(out) == limit {
			break
		}
		if now.Sub(h.stored) >= t.cfg.RepublishInterval && now.Before(h.expires) {
			out = append(out, h.it)
		}
	}
	return out
}

// renewed notes that a held item was handed on at now, so that it is not
// due again before another interval.
func (t *itemTable) renewed(target krpc.ID, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if h, ok := t.held[target]; ok {
		h.stored = now
	}
}

// setOwn records an item the node put, to republish it; nil forgets it.
func (t *itemTable) setOwn(target krpc.ID, it *kad.Item, next time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if it == nil {
		delete(t.own, target)
		if t.st != nil {
			if err := t.st.DeleteOwnItem(target); err != nil {
				t.log.Warn("forgetting an own item failed", "err", err)
			}
		}
		return
	}
	t.own[target] = &ownItem{it: *it, next: next}
	t.persistLocked([]kad.ItemRecord{{Target: target, Own: true, V: it.V, K: it.K, Salt: it.Salt, Seq: it.Seq, Sig: it.Sig,
		Stored: next, Expires: next}}, nil)
}

// dueOwn returns up to limit own items due for republishing at now.
func (t *itemTable) dueOwn(now time.Time, limit int) []kad.Item {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []kad.Item
	for _, o := range t.own {
		if len(out) == limit {
			break
		}
		if !now.Before(o.next) {
			out = append(out, o.it)
		}
	}
	return out
}

// ItemCounts is what a node holds, for metrics and the status page.
type ItemCounts struct {
	Held  int // items held for others
	Bytes int // their values' bytes
	Own   int // items this node put and republishes
}

func (t *itemTable) counts() ItemCounts {
	t.mu.Lock()
	defer t.mu.Unlock()
	return ItemCounts{Held: len(t.held), Bytes: t.bytes, Own: len(t.own)}
}
