package store

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/cockroachdb/pebble"
)

// schemaCheck is what Open learned from the stored header.
type schemaCheck struct {
	meta        Meta
	oldSelf     krpc.ID
	selfChanged bool
}

// openSchema reads (or, in an empty store, writes) the schema version and
// meta record, migrates an older schema, and checks key size and network.
// A changed own ID is recorded, never treated as a reason to discard: the
// contacts stay and the table re-buckets them on Load.
func openSchema(db *pebble.DB, dir string, o Options, log *slog.Logger) (schemaCheck, error) {
	var sc schemaCheck
	v, found, err := getVersion(db)
	if err != nil {
		return sc, corruptError(dir, err)
	}
	if !found {
		empty, err := isEmpty(db)
		if err != nil {
			return sc, corruptError(dir, err)
		}
		if !empty {
			return sc, corruptError(dir, errors.New("it holds records but no schema version (it was damaged, or not written by kadnode)"))
		}
		sc.meta = Meta{SchemaVersion: schemaVersion, KeyBits: keyBits, SelfID: o.SelfID, Network: o.Network}
		return sc, initSchema(db, sc.meta)
	}
	if v > schemaVersion {
		return sc, tooNewError(dir, v)
	}
	if v < schemaVersion {
		if err := migrate(db, dir, v, o.migrations, log); err != nil {
			return sc, err
		}
	}
	sc.meta, err = getMeta(db)
	if err != nil {
		return sc, corruptError(dir, err)
	}
	sc.meta.SchemaVersion = schemaVersion
	if sc.meta.KeyBits != keyBits {
		return sc, keyBitsError(dir, sc.meta.KeyBits)
	}
	if sc.meta.Network != o.Network {
		return sc, networkError(dir, sc.meta.Network, o.Network)
	}
	if sc.meta.SelfID != o.SelfID {
		sc.oldSelf, sc.selfChanged = sc.meta.SelfID, true
		sc.meta.SelfID = o.SelfID
		if err := putMeta(db, sc.meta); err != nil {
			return sc, err
		}
		log.Info("own node ID changed since the store was written; keeping every contact, the table re-buckets them",
			"dir", dir, "old", fmt.Sprintf("%x", sc.oldSelf[:]), "new", fmt.Sprintf("%x", o.SelfID[:]))
	}
	return sc, nil
}

func getVersion(db *pebble.DB) (v int, found bool, err error) {
	rec, closer, err := db.Get(versionKey)
	if errors.Is(err, pebble.ErrNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("reading the schema version: %w", err)
	}
	defer closer.Close()
	v, err = decodeVersion(rec)
	return v, true, err
}

func getMeta(db *pebble.DB) (Meta, error) {
	rec, closer, err := db.Get(metaKey)
	if errors.Is(err, pebble.ErrNotFound) {
		return Meta{}, errors.New("the meta record is missing")
	}
	if err != nil {
		return Meta{}, fmt.Errorf("reading the meta record: %w", err)
	}
	defer closer.Close()
	m, err := decodeMeta(rec)
	if err != nil {
		return m, fmt.Errorf("meta record: %w", err)
	}
	return m, nil
}

func isEmpty(db *pebble.DB) (bool, error) {
	it, err := db.NewIter(nil)
	if err != nil {
		return false, err
	}
	empty := !it.First()
	return empty, errors.Join(it.Error(), it.Close())
}

// initSchema writes the header of a new store.
func initSchema(db *pebble.DB, m Meta) error {
	rec, err := encodeMeta(m)
	if err != nil {
		return err
	}
	b := db.NewBatch()
	defer b.Close()
	_ = b.Set(versionKey, encodeVersion(schemaVersion), nil)
	_ = b.Set(metaKey, rec, nil)
	return b.Commit(pebble.Sync)
}

func putMeta(db *pebble.DB, m Meta) error {
	rec, err := encodeMeta(m)
	if err != nil {
		return err
	}
	return db.Set(metaKey, rec, pebble.Sync)
}
