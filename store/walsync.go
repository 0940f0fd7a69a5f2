package store

import (
	"errors"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble/vfs"
)

// deferredSyncFS is the file system under Pebble when Options.WALSyncInterval
// is set. Pebble writes a WAL record to its file (write(2)) before it syncs,
// and a synced commit returns after both. Here the sync of a WAL file only
// marks the file dirty, so a commit returns once its record is in the
// operating system: it survives a crash or kill of the process, not a power
// loss. The store fsyncs dirty WAL files every interval (syncAll) and a WAL
// file is fsynced when Pebble closes it. Tables, MANIFEST and the rest keep
// Pebble's own syncs.
type deferredSyncFS struct {
	vfs.FS
	mu    sync.Mutex
	files map[*deferredSyncFile]struct{}
}

func newDeferredSyncFS(fs vfs.FS) *deferredSyncFS {
	return &deferredSyncFS{FS: fs, files: make(map[*deferredSyncFile]struct{})}
}

func isWAL(name string) bool { return strings.HasSuffix(name, ".log") }

func (fs *deferredSyncFS) Create(name string) (vfs.File, error) {
	f, err := fs.FS.Create(name)
	if err != nil || !isWAL(name) {
		return f, err
	}
	return fs.track(f), nil
}

func (fs *deferredSyncFS) ReuseForWrite(oldname, newname string) (vfs.File, error) {
	f, err := fs.FS.ReuseForWrite(oldname, newname)
	if err != nil || !isWAL(newname) {
		return f, err
	}
	return fs.track(f), nil
}

func (fs *deferredSyncFS) track(f vfs.File) *deferredSyncFile {
	df := &deferredSyncFile{File: f, fs: fs}
	fs.mu.Lock()
	fs.files[df] = struct{}{}
	fs.mu.Unlock()
	return df
}

// syncAll fsyncs every WAL file written since its last fsync, and returns
// how many it synced.
func (fs *deferredSyncFS) syncAll() (int, error) {
	fs.mu.Lock()
	files := make([]*deferredSyncFile, 0, len(fs.files))
	for f := range fs.files {
		files = append(files, f)
	}
	fs.mu.Unlock()
	synced := 0
	var errs []error
	for _, f := range files {
		f.syncs.Lock()
		did, err := f.realSyncLocked()
		f.syncs.Unlock()
		if did {
			synced++
		}
		errs = append(errs, err)
	}
	return synced, errors.Join(errs...)
}

// deferredSyncFile is a WAL file whose syncs are deferred to syncAll/Close.
type deferredSyncFile struct {
	vfs.File
	fs     *deferredSyncFS
	dirty  atomic.Bool
	syncs  sync.Mutex // one real fsync at a time, none after Close
	closed bool       // guarded by syncs
}

func (f *deferredSyncFile) Sync() error     { f.dirty.Store(true); return nil }
func (f *deferredSyncFile) SyncData() error { f.dirty.Store(true); return nil }

func (f *deferredSyncFile) SyncTo(int64) (fullSync bool, err error) {
	f.dirty.Store(true)
	return false, nil
}

// realSyncLocked fsyncs the file if it is dirty, reporting whether it did.
func (f *deferredSyncFile) realSyncLocked() (bool, error) {
	if f.closed || !f.dirty.Swap(false) {
		return false, nil
	}
	if err := f.File.Sync(); err != nil {
		f.dirty.Store(true)
		return true, err
	}
	return true, nil
}

func (f *deferredSyncFile) Close() error {
	f.syncs.Lock()
	_, err := f.realSyncLocked()
	f.closed = true
	err = errors.Join(err, f.File.Close())
	f.syncs.Unlock()
	f.fs.mu.Lock()
	delete(f.fs.files, f)
	f.fs.mu.Unlock()
	return err
}
