package store

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kadnode/kadnode/kad"
)

// storeWithTable returns a closed store in a new dir whose contacts are in an
// sstable as well as in the WAL (the second Open flushes the replayed WAL).
func storeWithTable(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for round := range 2 {
		s, err := Open(dir, testOptions())
		if err != nil {
			t.Fatal(err)
		}
		for i := range 100 {
			if err := s.Put(testContact(round*100 + i)); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// storeFile returns the path of the single file of dir whose name matches.
func storeFile(t *testing.T, dir string, match func(string) bool) string {
	t.Helper()
	names, err := osReadDirNames(dir)
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, n := range names {
		if match(n) {
			found = append(found, n)
		}
	}
	if len(found) == 0 {
		t.Fatalf("no matching file in %v", names)
	}
	return filepath.Join(dir, found[len(found)-1])
}

func currentManifest(t *testing.T, dir string) string {
	t.Helper()
	marker := storeFile(t, dir, func(n string) bool { return strings.HasPrefix(n, "marker.manifest.") })
	return filepath.Join(dir, marker[strings.LastIndex(marker, ".")+1:])
}

// openCorrupt opens a damaged store (and Loads it, if it opens) and checks
// that the error is ErrCorrupt, names dir and says what to do.
func openCorrupt(t *testing.T, dir string) {
	t.Helper()
	s, err := Open(dir, testOptions())
	if err == nil {
		_, err = s.Load()
		_ = s.Close()
	}
	checkDirError(t, err, ErrCorrupt, dir, "move the directory aside")
	t.Logf("error: %v", err)
}

func TestCorruptFilesGiveClearError(t *testing.T) {
	garble := func(path string, at func(size int) int) func(t *testing.T) {
		return func(t *testing.T) {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			for i := at(len(b)); i < len(b) && i < at(len(b))+64; i++ {
				b[i] ^= 0x5a
			}
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	truncate := func(path string) func(t *testing.T) {
		return func(t *testing.T) {
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(path, fi.Size()/2); err != nil {
				t.Fatal(err)
			}
		}
	}
	remove := func(match func(string) bool) func(t *testing.T, dir string) {
		return func(t *testing.T, dir string) {
			names, _ := osReadDirNames(dir)
			for _, n := range names {
				if match(n) {
					if err := os.Remove(filepath.Join(dir, n)); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
	}
	isSST := func(n string) bool { return strings.HasSuffix(n, ".sst") }
	cases := []struct {
		name   string
		damage func(t *testing.T, dir string)
	}{
		{"garbled MANIFEST", func(t *testing.T, dir string) { garble(currentManifest(t, dir), func(int) int { return 0 })(t) }},
		{"truncated MANIFEST", func(t *testing.T, dir string) { truncate(currentManifest(t, dir))(t) }},
		{"MANIFEST missing", remove(func(n string) bool { return strings.HasPrefix(n, "MANIFEST-") })},
		{"MANIFEST markers missing", remove(func(n string) bool { return strings.HasPrefix(n, "marker.manifest.") || n == "CURRENT" })},
		{"garbled sstable data", func(t *testing.T, dir string) { garble(storeFile(t, dir, isSST), func(n int) int { return n / 3 })(t) }},
		{"garbled sstable footer", func(t *testing.T, dir string) { garble(storeFile(t, dir, isSST), func(n int) int { return n - 48 })(t) }},
		{"truncated sstable", func(t *testing.T, dir string) { truncate(storeFile(t, dir, isSST))(t) }},
		{"sstable missing", remove(isSST)},
		{"garbage OPTIONS", func(t *testing.T, dir string) {
			p := storeFile(t, dir, func(n string) bool { return strings.HasPrefix(n, "OPTIONS-") })
			if err := os.WriteFile(p, []byte("[Options]\n  no such = thing\x00\xff\n[["), 0o600); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := storeWithTable(t)
			tc.damage(t, dir)
			openCorrupt(t, dir)
		})
	}
}

func TestUndecodableRecordGivesClearError(t *testing.T) {
	bad := map[string][]byte{
		"truncated":       {contactRecordVersion, byte(kad.InBucket)},
		"unknown version": {99, 1, 0, 6, 10, 0, 0, 1, 0, 80, 0, 0, 0},
		"bad place":       append([]byte{contactRecordVersion, 7}, mustRecord(t, testContact(1))[2:]...),
		"trailing bytes":  append(mustRecord(t, testContact(1)), 0),
	}
	for name, rec := range bad {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			kv := rawHeader(t, schemaVersion, testMeta())
			kv[string(contactKey(testID(1)))] = rec
			writeRaw(t, dir, kv)
			openCorrupt(t, dir)
		})
	}
	t.Run("short key", func(t *testing.T) {
		dir := t.TempDir()
		kv := rawHeader(t, schemaVersion, testMeta())
		kv[string(contactKey(testID(1))[:10])] = mustRecord(t, testContact(1))
		writeRaw(t, dir, kv)
		openCorrupt(t, dir)
	})
	t.Run("garbled meta", func(t *testing.T) {
		dir := t.TempDir()
		kv := rawHeader(t, schemaVersion, testMeta())
		kv[string(metaKey)] = kv[string(metaKey)][:5]
		writeRaw(t, dir, kv)
		openCorrupt(t, dir)
	})
}

func mustRecord(t *testing.T, c kad.Contact) []byte {
	t.Helper()
	rec, err := appendContact(nil, c)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}
