package store

import (
	"fmt"
	"log/slog"

	"github.com/cockroachdb/pebble"
)

// migration moves a store from schema version from to from+1. It reads and
// writes through b, an indexed batch, so it sees its own changes; the batch
// also sets the new version and is committed (synced) as one unit, so a crash
// leaves the store at either version, never between.
type migration struct {
	from int
	what string // one line for the log
	run  func(b *pebble.Batch) error
}

// migrations are the steps of this build, in order; the next layout
// change appends {from: 2, ...} here and bumps schemaVersion.
var migrations = []migration{migrateItems}

// migrateItems adds the BEP 44 item keyspaces (schema 2). Schema 1 wrote
// nothing under their prefixes; whatever is there is not an item record
// and is dropped, so that LoadItems never meets it.
var migrateItems = migration{from: 1, what: "add the BEP 44 item keyspaces", run: func(b *pebble.Batch) error {
	for _, p := range [...]byte{prefixItem, prefixOwnItem} {
		if err := b.DeleteRange([]byte{p}, []byte{p + 1}, nil); err != nil {
			return err
		}
	}
	return nil
}}

// migrate brings the store in db from schema version v up to schemaVersion.
func migrate(db *pebble.DB, dir string, v int, steps []migration, log *slog.Logger) error {
	for ; v < schemaVersion; v++ {
		step, ok := findMigration(steps, v)
		if !ok {
			return noMigrationError(dir, v)
		}
		b := db.NewIndexedBatch()
		if err := step.run(b); err != nil {
			_ = b.Close()
			return corruptError(dir, fmt.Errorf("migrating schema %d to %d (%s): %w", v, v+1, step.what, err))
		}
		if err := b.Set(versionKey, encodeVersion(v+1), nil); err != nil {
			_ = b.Close()
			return err
		}
		if err := b.Commit(pebble.Sync); err != nil {
			return fmt.Errorf("writing schema %d migration of the store in %s: %w", v+1, dir, err)
		}
		_ = b.Close()
		log.Info("store migrated", "dir", dir, "from", v, "to", v+1, "step", step.what)
	}
	return nil
}

func findMigration(steps []migration, from int) (migration, bool) {
	for _, s := range steps {
		if s.from == from {
			return s, true
		}
	}
	return migration{}, false
}
