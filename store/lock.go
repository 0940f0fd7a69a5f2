package store

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sync"
	"syscall"

	"github.com/cockroachdb/pebble"
	"github.com/cockroachdb/pebble/vfs"
)

// openDirs are the store directories open in this process. Pebble's file
// lock is an fcntl lock, which does not exclude a second opener in the same
// process, so the process keeps its own record.
var openDirs = struct {
	sync.Mutex
	m map[string]bool
}{m: map[string]bool{}}

// dirLock is a held store directory.
type dirLock struct {
	path  string // canonical path, the key in openDirs
	flock *pebble.Lock
}

// lockDir creates dir if needed and takes its lock, for this process and
// against other processes.
func lockDir(dir string, vfsys vfs.FS) (*dirLock, error) {
	if err := vfsys.MkdirAll(dir, dirPerm); err != nil {
		return nil, fmt.Errorf("cannot create data dir %s: %w", dir, err)
	}
	path, err := filepath.Abs(dir)
	if err == nil {
		path, err = filepath.EvalSymlinks(path)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot resolve data dir %s: %w", dir, err)
	}
	openDirs.Lock()
	defer openDirs.Unlock()
	if openDirs.m[path] {
		return nil, lockedError(dir, errors.New("it is already open in this process"))
	}
	flock, err := pebble.LockDirectory(dir, vfsys)
	if err != nil {
		var pathErr *fs.PathError
		if !errors.As(err, &pathErr) && (errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EACCES)) {
			return nil, lockedError(dir, errors.New("its LOCK file is held by another process"))
		}
		return nil, fmt.Errorf("cannot lock data dir %s: %w", dir, err)
	}
	openDirs.m[path] = true
	return &dirLock{path: path, flock: flock}, nil
}

// unlock releases the directory; Pebble must have been closed first.
func (l *dirLock) unlock() error {
	openDirs.Lock()
	defer openDirs.Unlock()
	delete(openDirs.m, l.path)
	return l.flock.Close()
}
