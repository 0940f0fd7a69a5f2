package store

import (
	"fmt"
	"log/slog"

	"github.com/cockroachdb/pebble"
	"github.com/cockroachdb/pebble/vfs"
)

// pebbleLogger routes Pebble's log to slog. Pebble's own default logger
// prints to stderr and exits the process on Fatalf; here Fatalf is reported
// to the store, which turns it into an error and stops writing (see guard).
type pebbleLogger struct {
	log   *slog.Logger
	fatal func(error)
}

func (l pebbleLogger) Infof(format string, args ...any) {
	l.log.Debug("pebble: " + fmt.Sprintf(format, args...))
}

func (l pebbleLogger) Fatalf(format string, args ...any) {
	err := &pebbleFatalError{msg: fmt.Sprintf(format, args...)}
	for _, a := range args {
		if cause, ok := a.(error); ok {
			err.causes = append(err.causes, cause)
		}
	}
	// A warning, not an error: the write that meets this condition fails
	// and the store reports that once, as the one error line of the fault.
	l.log.Warn("pebble: " + err.msg)
	l.fatal(err)
}

// pebbleFatalError keeps the errors Pebble formatted into a fatal message,
// so that callers can still match them (syscall.ENOSPC and the like).
type pebbleFatalError struct {
	msg    string
	causes []error
}

func (e *pebbleFatalError) Error() string   { return e.msg }
func (e *pebbleFatalError) Unwrap() []error { return e.causes }

// pebbleOptions sizes Pebble for a small daemon. The caller unrefs the
// returned cache after pebble.Open (the DB holds its own reference).
func pebbleOptions(o Options, vfsys vfs.FS, mustExist bool, lg pebbleLogger, onBackgroundError func(error)) (*pebble.Options, *pebble.Cache) {
	cache := pebble.NewCache(o.CacheSize)
	po := &pebble.Options{
		FS:                 vfsys,
		Cache:              cache,
		MemTableSize:       o.MemTableSize,
		MaxOpenFiles:       maxOpenFiles,
		FormatMajorVersion: pebble.FormatNewest,
		ErrorIfNotExists:   mustExist,
		Logger:             lg,
		EventListener: &pebble.EventListener{
			BackgroundError: onBackgroundError,
		},
	}
	po.Experimental.TableCacheShards = tableCacheShards
	return po, cache
}
