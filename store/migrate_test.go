package store

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/cockroachdb/pebble"
	"github.com/kadnode/kadnode/kad"
)

// A fake schema 0, as an older build might have written it: text records,
// the meta as "bits id network" under "m", contacts under "node/<hex id>" as
// "addr|first|last|response|failures|place" with times in unix nanoseconds.

const v0ContactPrefix = "node/"

func v0Meta(m Meta) []byte {
	return fmt.Appendf(nil, "%d %x %s", m.KeyBits, m.SelfID[:], m.Network)
}

func v0Contact(c kad.Contact) (key string, rec []byte) {
	return v0ContactPrefix + hex.EncodeToString(c.ID[:]), fmt.Appendf(nil, "%s|%d|%d|%d|%d|%d",
		c.Addr, unixNanos(c.FirstSeen), unixNanos(c.LastSeen), unixNanos(c.LastResponse), c.Failures, c.Place)
}

// v0Store is the raw content of a schema 0 store holding cs.
func v0Store(m Meta, cs []kad.Contact) map[string][]byte {
	kv := map[string][]byte{string(versionKey): encodeVersion(0), string(metaKey): v0Meta(m)}
	for _, c := range cs {
		k, rec := v0Contact(c)
		kv[k] = rec
	}
	return kv
}

// migrateV0 is the step from the fake schema 0 to schema 1.
var migrateV0 = migration{from: 0, what: "text records to binary", run: func(b *pebble.Batch) error {
	rec, closer, err := b.Get(metaKey)
	if err != nil {
		return fmt.Errorf("meta: %w", err)
	}
	var m Meta
	var self string
	_, err = fmt.Sscanf(string(rec), "%d %s %s", &m.KeyBits, &self, &m.Network)
	closer.Close()
	if err != nil {
		return fmt.Errorf("meta %q: %w", rec, err)
	}
	if _, err := hex.Decode(m.SelfID[:], []byte(self)); err != nil {
		return fmt.Errorf("meta self ID: %w", err)
	}
	newMeta, err := encodeMeta(m)
	if err != nil {
		return err
	}
	if err := b.Set(metaKey, newMeta, nil); err != nil {
		return err
	}
	it, err := b.NewIter(&pebble.IterOptions{LowerBound: []byte(v0ContactPrefix), UpperBound: []byte("node0")})
	if err != nil {
		return err
	}
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		c, err := parseV0Contact(string(it.Key()), string(it.Value()))
		if err != nil {
			return err
		}
		rec, err := appendContact(nil, c)
		if err != nil {
			return err
		}
		if err := b.Set(contactKey(c.ID), rec, nil); err != nil {
			return err
		}
		if err := b.Delete(it.Key(), nil); err != nil {
			return err
		}
	}
	return it.Error()
}}

func parseV0Contact(key, rec string) (kad.Contact, error) {
	var c kad.Contact
	if _, err := hex.Decode(c.ID[:], []byte(strings.TrimPrefix(key, v0ContactPrefix))); err != nil {
		return c, fmt.Errorf("key %q: %w", key, err)
	}
	f := strings.Split(rec, "|")
	if len(f) != 6 {
		return c, fmt.Errorf("record %q has %d fields, want 6", rec, len(f))
	}
	var err error
	if c.Addr, err = netip.ParseAddrPort(f[0]); err != nil {
		return c, err
	}
	var n [5]int64
	for i := range n {
		if n[i], err = strconv.ParseInt(f[i+1], 10, 64); err != nil {
			return c, fmt.Errorf("record %q: %w", rec, err)
		}
	}
	c.FirstSeen, c.LastSeen, c.LastResponse = fromUnixNanos(n[0]), fromUnixNanos(n[1]), fromUnixNanos(n[2])
	c.Failures, c.Place = int(n[3]), kad.Place(n[4])
	return c, nil
}

func TestMigrationFromOlderSchema(t *testing.T) {
	dir := t.TempDir()
	m := testMeta()
	want := map[krpc.ID]kad.Contact{}
	var cs []kad.Contact
	for i := range 40 {
		cs = append(cs, testContact(i))
		want[testID(i)] = testContact(i)
	}
	writeRaw(t, dir, v0Store(m, cs))

	o := testOptions()
	o.migrations = append([]migration{migrateV0}, migrations...)
	s, err := Open(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Meta(); got.SchemaVersion != schemaVersion || got.SelfID != m.SelfID || got.Network != testNetwork {
		t.Fatalf("meta after migration %+v", got)
	}
	checkContacts(t, loadT(t, s), want)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for k := range readRaw(t, dir) {
		if strings.HasPrefix(k, v0ContactPrefix) {
			t.Fatalf("old record %q left after migration", k)
		}
	}

	// Migrated for good: this build (with no steps) opens it.
	s = openT(t, dir, testOptions())
	checkContacts(t, loadT(t, s), want)
}

func TestOlderSchemaWithoutMigrationIsRefused(t *testing.T) {
	dir := t.TempDir()
	m := testMeta()
	writeRaw(t, dir, v0Store(m, []kad.Contact{testContact(1)}))
	_, err := Open(dir, testOptions())
	checkDirError(t, err, ErrSchema, dir, "schema version 0", "no migration")
}

func TestFailedMigrationLeavesStoreUntouched(t *testing.T) {
	dir := t.TempDir()
	m := testMeta()
	kv := v0Store(m, []kad.Contact{testContact(1), testContact(2)})
	id := testID(3)
	kv[v0ContactPrefix+hex.EncodeToString(id[:])] = []byte("10.0.0.1:1|garbage")
	writeRaw(t, dir, kv)
	before := readRaw(t, dir)

	o := testOptions()
	o.migrations = append([]migration{migrateV0}, migrations...)
	_, err := Open(dir, o)
	checkDirError(t, err, ErrCorrupt, dir, "migrating schema 0 to 1", "has 2 fields")
	after := readRaw(t, dir)
	if len(after) != len(before) {
		t.Fatalf("%d keys before the failed migration, %d after", len(before), len(after))
	}
	for k, v := range before {
		if !bytes.Equal(after[k], v) {
			t.Fatalf("key %q changed by a failed migration: %q -> %q", k, v, after[k])
		}
	}
}

// readRaw returns every key and value of the Pebble store in dir.
func readRaw(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	db, err := pebble.Open(dir, &pebble.Options{Logger: quietPebbleLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	it, err := db.NewIter(nil)
	if err != nil {
		t.Fatal(err)
	}
	kv := map[string][]byte{}
	for ok := it.First(); ok; ok = it.Next() {
		kv[string(it.Key())] = bytes.Clone(it.Value())
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	return kv
}

// The fake schema 0 writes a zero time as 0.

func unixNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}
