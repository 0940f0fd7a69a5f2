package store

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/cockroachdb/pebble"
	"github.com/cockroachdb/pebble/vfs"

	"github.com/kadnode/kadnode/internal/tasks"
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
	// WALSyncInterval chooses what "Put returned" means. Zero: the change
	// was fsynced; it survives a power loss. Positive: the change was
	// written to the operating system; it survives a crash or kill of the
	// process, and the WAL is fsynced every WALSyncInterval and on Close, so
	// a power loss takes at most that much. See walsync.go.
	WALSyncInterval time.Duration
	Logger          *slog.Logger

	fs         vfs.FS      // tests inject faults here; nil means the OS
	migrations []migration // tests add fake old schemas; nil means this build's
}

func (o *Options) setDefaults() {
	if o.MemTableSize == 0 {
		o.MemTableSize = DefaultMemTableSize
	}
	if o.CacheSize == 0 {
		o.CacheSize = DefaultCacheSize
	}
	if o.TouchInterval <= 0 {
		o.TouchInterval = DefaultTouchInterval
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.migrations == nil {
		o.migrations = migrations
	}
	switch {
	case o.fs != nil:
	case o.InMemory:
		o.fs = vfs.NewMem()
	default:
		o.fs = vfs.Default
	}
}

// Stats counts store activity for metrics.
type Stats struct {
	Writes    uint64 // committed batches
	Coalesced uint64 // last-seen updates absorbed without a write
	Errors    uint64 // failed batches and Pebble background errors
	Puts      uint64 // contact records written by Put/Update
	Deletes   uint64 // contact records deleted
	Touches   uint64 // contact records written for coalesced last-seen updates
	WALSyncs  uint64 // deferred WAL fsyncs (with WALSyncInterval)
	// ItemPuts and ItemDeletes count BEP 44 item records written and
	// deleted.
	ItemPuts, ItemDeletes uint64
}

// Store is the Pebble-backed routing-table store. Its methods are safe for
// concurrent use; concurrent writers share one fsync (see writer.go).
type Store struct {
	dir  string
	opts Options
	log  *slog.Logger
	db   *pebble.DB
	lock *dirLock // nil in memory
	sc   schemaCheck
	wal  *deferredSyncFS // nil unless WALSyncInterval is set

	applyMu  sync.Mutex     // orders batches into Pebble; taken before mu
	mu       sync.Mutex     // guards the fields below
	pending  touchSet       // coalesced last-seen updates not yet written
	closed   bool           // no more changes taken
	failed   error          // first write failure; later writes return it
	inflight sync.WaitGroup // writes between their check and their sync

	tasks tasks.Set // touch writes and WAL syncs (writer.go); Close stops them

	pebbleFatal atomic.Pointer[error] // set by Pebble's Fatalf (see guard.go)
	wedged      atomic.Bool           // Pebble panicked holding its locks (see guard.go)
	stats       struct{ writes, coalesced, errors, puts, deletes, touches, walSyncs, itemPuts, itemDeletes atomic.Uint64 }
}

// Open opens (or creates) the store in dir, taking its lock. It refuses a
// store of another key size or network, a locked or corrupt one, and one
// with a newer schema, each with an error saying what to do.
func Open(dir string, opts Options) (*Store, error) {
	if err := checkNetwork(opts.Network); err != nil {
		return nil, err
	}
	opts.setDefaults()
	s := &Store{
		dir:     dir,
		opts:    opts,
		log:     opts.Logger.With("component", "store"),
		pending: newTouchSet(),
	}
	if err := s.openDB(); err != nil {
		return nil, err
	}
	sc, err := openSchema(s.db, dir, opts, s.log)
	if err == nil {
		err = s.fatalError()
	}
	if err != nil {
		return nil, errors.Join(err, s.closeDB())
	}
	s.sc = sc
	s.startTasks()
	return s, nil
}

// openDB locks dir and opens Pebble in it.
func (s *Store) openDB() error {
	mustExist := false
	if !s.opts.InMemory {
		lock, err := lockDir(s.dir, s.opts.fs)
		if err != nil {
			return err
		}
		s.lock = lock
		if mustExist, err = hasFiles(s.opts.fs, s.dir); err != nil {
			_ = lock.unlock()
			return fmt.Errorf("cannot read data dir %s: %w", s.dir, err)
		}
	}
	lg := pebbleLogger{log: s.log, fatal: s.setPebbleFatal}
	pebbleFS := s.opts.fs
	if s.opts.WALSyncInterval > 0 && !s.opts.InMemory {
		s.wal = newDeferredSyncFS(pebbleFS)
		pebbleFS = s.wal
	}
	po, cache := pebbleOptions(s.opts, pebbleFS, mustExist, lg, s.backgroundError)
	if s.lock != nil {
		po.Lock = s.lock.flock
	}
	db, err := openPebble(s.dir, po)
	cache.Unref()
	if err == nil {
		err = s.fatalError()
	}
	if err != nil {
		if db != nil {
			_ = closePebble(db)
		}
		if s.lock != nil {
			_ = s.lock.unlock()
		}
		return s.openError(err)
	}
	s.db = db
	return nil
}

// openError explains a failed pebble.Open. An error of the system (no
// permission, disk full or read-only, I/O error) is reported as such; a
// missing file or anything else means files Pebble could not make sense of,
// which starting afresh in their place would not repair.
func (s *Store) openError(err error) error {
	var errno syscall.Errno
	if errors.As(err, &errno) && errno != syscall.ENOENT {
		return fmt.Errorf("cannot open store in %s: %w", s.dir, err)
	}
	if errors.Is(err, pebble.ErrDBDoesNotExist) {
		err = errors.New("the directory holds files but no Pebble MANIFEST/CURRENT")
	}
	return corruptError(s.dir, err)
}

// hasFiles reports whether dir holds anything besides the lock file, in
// which case it must be an existing store: Pebble would otherwise start an
// empty one over whatever is left of it.
func hasFiles(vfsys vfs.FS, dir string) (bool, error) {
	names, err := vfsys.List(dir)
	if err != nil {
		return false, err
	}
	for _, n := range names {
		if n != "LOCK" {
			return true, nil
		}
	}
	return false, nil
}

// Meta returns the meta record as it is after Open (and any migration).
func (s *Store) Meta() Meta { return s.sc.meta }

// SelfChanged reports whether Open found another own ID in the store (the
// key was replaced) and returns the old one; the table re-buckets on Load.
func (s *Store) SelfChanged() (old krpc.ID, changed bool) { return s.sc.oldSelf, s.sc.selfChanged }

// Stats snapshots the counters.
func (s *Store) Stats() Stats {
	return Stats{
		Writes:    s.stats.writes.Load(),
		Coalesced: s.stats.coalesced.Load(),
		Errors:    s.stats.errors.Load(),
		Puts:      s.stats.puts.Load(),
		Deletes:   s.stats.deletes.Load(),
		Touches:   s.stats.touches.Load(),
		WALSyncs:  s.stats.walSyncs.Load(),

		ItemPuts:    s.stats.itemPuts.Load(),
		ItemDeletes: s.stats.itemDeletes.Load(),
	}
}

// Close writes pending updates, syncs and releases the lock. It returns the
// store's write failure, if it had one, so that the loss of the last
// updates is reported.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	s.closed = true
	s.mu.Unlock()
	s.tasks.Close()
	s.inflight.Wait()
	_ = s.flushTouches(true) // a failure is recorded in s.failed

	s.mu.Lock()
	err := s.failed
	s.mu.Unlock()
	return errors.Join(err, s.closeDB())
}

// closeDB closes Pebble and releases the lock. A wedged Pebble is left
// alone (see guard.go).
func (s *Store) closeDB() error {
	if s.wedged.Load() {
		return fmt.Errorf("the store in %s was not closed: Pebble stopped after a write failure; the directory stays locked until the process exits", s.dir)
	}
	err := closePebble(s.db)
	if err != nil {
		err = fmt.Errorf("closing the store in %s: %w", s.dir, err)
	}
	if s.lock != nil {
		err = errors.Join(err, s.lock.unlock())
	}
	return err
}
