package store

import (
	"errors"
	"fmt"

	"github.com/kadnode/kadnode/kad"
)

// Sentinels for errors.Is; the errors themselves carry the directory, what
// was found and what to do.
var (
	// ErrLocked: another process (or another Open in this one) holds the store.
	ErrLocked = errors.New("data dir is in use by another kadnode")
	// ErrCorrupt: the store's files or records cannot be read.
	ErrCorrupt = errors.New("store is corrupt")
	// ErrForeign: the store was made for another key size or network.
	ErrForeign = errors.New("store belongs to another network or key size")
	// ErrSchema: the store's schema is newer than this build, or has no
	// migration path to it.
	ErrSchema = errors.New("store schema is not supported")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("store is closed")
)

// dirError is an error about the store in dir, matching one sentinel.
type dirError struct {
	kind error
	msg  string
	err  error
}

func (e *dirError) Error() string        { return e.msg }
func (e *dirError) Unwrap() error        { return e.err }
func (e *dirError) Is(target error) bool { return target == e.kind }

func lockedError(dir string, cause error) error {
	return &dirError{kind: ErrLocked, err: cause, msg: fmt.Sprintf(
		"data dir %s is in use by another kadnode (%v); stop the other process or use a different --data-dir",
		dir, cause)}
}

func corruptError(dir string, cause error) error {
	return &dirError{kind: ErrCorrupt, err: cause, msg: fmt.Sprintf(
		"store in %s is corrupt: %v; move the directory aside (the node rejoins through its seeds and builds a new one) or restore it from a backup",
		dir, cause)}
}

func keyBitsError(dir string, stored int) error {
	return &dirError{kind: ErrForeign, msg: fmt.Sprintf(
		"store in %s was made for %d-bit node IDs, this kadnode uses %d-bit IDs; use a different --data-dir",
		dir, stored, keyBits)}
}

func networkError(dir, stored, want string) error {
	return &dirError{kind: ErrForeign, msg: fmt.Sprintf(
		"store in %s belongs to network %q, not %q; run with --network %q, or use a different --data-dir for network %q",
		dir, stored, want, stored, want)}
}

func tooNewError(dir string, stored int) error {
	return &dirError{kind: ErrSchema, msg: fmt.Sprintf(
		"store in %s has schema version %d, this kadnode understands up to %d; upgrade kadnode or use a different --data-dir",
		dir, stored, schemaVersion)}
}

func noMigrationError(dir string, stored int) error {
	return &dirError{kind: ErrSchema, msg: fmt.Sprintf(
		"store in %s has schema version %d and this kadnode has no migration from it; use a different --data-dir (or move this one aside)",
		dir, stored)}
}

func failedError(op string, cause error) error {
	return &dirError{kind: kad.ErrStoreFailed, err: cause, msg: fmt.Sprintf(
		"store %s failed: %v; the node keeps its table in memory, and the store refuses writes until it is reopened",
		op, cause)}
}
