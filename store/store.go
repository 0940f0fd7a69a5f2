package store

import (
	"errors"
	"log/slog"
	"time"

	"github.com/anacrolix/dht/v2/krpc"
)

// Options configure a store; zero values take the defaults in constants.go.
type Options struct {
	Network string  // network name recorded in (and checked against) the meta record
	SelfID  krpc.ID // own node ID; a different stored ID means the key was replaced
	// InMemory keeps everything in memory (short-lived read-only clients).
	InMemory      bool
	MemTableSize  uint64
	CacheSize     int64
	TouchInterval time.Duration // at most one last-seen-only write per contact per interval
	Now           func() time.Time
	Logger        *slog.Logger
}

// Stats counts store activity for metrics.
type Stats struct {
	Writes    uint64 // committed batches
	Coalesced uint64 // last-seen updates absorbed without a write
	Errors    uint64
}

// Store is the Pebble-backed routing-table store.
type Store struct{}

var errNotImplemented = errors.New("not implemented")

// Open opens (or creates) the store in dir, taking its lock.
func Open(dir string, opts Options) (*Store, error) { return nil, errNotImplemented }

// Meta returns the meta record as it is after Open (and any migration).
func (s *Store) Meta() Meta { return Meta{} }

// SelfChanged reports whether Open found another own ID in the store (the
// key was replaced) and returns the old one; the table re-buckets on Load.
func (s *Store) SelfChanged() (old krpc.ID, changed bool) { return krpc.ID{}, false }

// Load returns every stored contact.
func (s *Store) Load() ([]Contact, error) { return nil, errNotImplemented }

// Put writes a structural change (insert, address change, promotion, failure count).
func (s *Store) Put(c Contact) error { return errNotImplemented }

// Delete removes a contact.
func (s *Store) Delete(id krpc.ID) error { return errNotImplemented }

// Touch records a last-seen-only update, coalesced per TouchInterval.
func (s *Store) Touch(c Contact) error { return errNotImplemented }

// Stats snapshots the counters.
func (s *Store) Stats() Stats { return Stats{} }

// Close writes pending updates, syncs and releases the lock.
func (s *Store) Close() error { return nil }
