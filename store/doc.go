// Package store persists the routing table in Pebble under a versioned schema.
//
// Layout: key "v" holds the schema version (4 bytes, an encoding that never
// changes), "m" the meta record (key bits, own node ID, network name), and
// "c"+ID one compact binary record per contact (codec.go). Open migrates an
// older schema step by step (migrate.go), and refuses a newer one, a store
// of another key size or network (ErrForeign), a damaged one (ErrCorrupt)
// and one held by another process or Open (ErrLocked), each with an error
// that names the directory and what to do. A changed own ID keeps every
// contact and is reported by SelfChanged, for the table to re-bucket them.
//
// Durability: Put, Delete and Update return once the change is fsynced, or,
// with Options.WALSyncInterval, once it is written to the operating system
// (it then survives a crash or kill of the process, and is fsynced within
// the interval). Concurrent writers share one fsync. Touch, the last-seen
// only update, is coalesced and written once per TouchInterval and on Close.
//
// Failures: a write that fails (disk full or read-only, I/O error) returns
// kad.ErrStoreFailed and the store refuses writes from then on; the node carries on
// from memory. Pebble's fatal paths are caught rather than allowed to end
// the process (guard.go). A Reopener (reopen.go) fails a store whose disk
// is too full for the next memtable rotation, and reopens a failed store
// once its disk takes writes again, writing the caller's table back.
package store
