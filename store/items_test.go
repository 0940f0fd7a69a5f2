package store

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"reflect"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/kadnode/kadnode/kad"
)

// testItem returns a deterministic item: mutable with a salt for odd i,
// immutable for even i; own for every fifth.
func testItem(i int) kad.ItemRecord {
	it := kad.ItemRecord{
		Target:  testID(1_000_000 + i),
		Own:     i%5 == 0,
		V:       []byte(fmt.Sprintf("%d:%s", len(strconv.Itoa(i)), strconv.Itoa(i))),
		Source:  netip.AddrFrom4([4]byte{10, 9, byte(i >> 8), byte(i)}),
		Stored:  testEpoch.Add(time.Duration(i) * time.Second),
		Expires: testEpoch.Add(2*time.Hour + time.Duration(i)*time.Second),
	}
	if i%2 == 1 {
		it.K[0], it.K[31] = 1, byte(i)
		it.Seq = int64(i)
		it.Sig[0], it.Sig[63] = 2, byte(i)
		it.Salt = []byte("salt" + strconv.Itoa(i))
		it.Cas = int64(i - 1)
	}
	return it
}

func sameItem(a, b kad.ItemRecord) bool {
	return a.Target == b.Target && a.Own == b.Own && bytes.Equal(a.V, b.V) && a.K == b.K &&
		bytes.Equal(a.Salt, b.Salt) && a.Seq == b.Seq && a.Sig == b.Sig && a.Cas == b.Cas &&
		a.Source == b.Source && a.Stored.Equal(b.Stored) && a.Expires.Equal(b.Expires)
}

func TestItemRecordRoundTrip(t *testing.T) {
	for i := range 6 {
		it := testItem(i)
		key, rec := itemKey(it.Target, it.Own), appendItem(nil, it)
		got, err := decodeItem(key, rec)
		if err != nil || !sameItem(got, it) {
			t.Fatalf("item %d: decoded %+v, %v; want %+v", i, got, err, it)
		}
		// Every strict prefix is refused, not misread.
		for n := range len(rec) {
			if _, err := decodeItem(key, rec[:n]); err == nil {
				t.Fatalf("item %d: prefix of %d of %d bytes decoded", i, n, len(rec))
			}
		}
		if _, err := decodeItem(key, append(bytes.Clone(rec), 0)); err == nil {
			t.Fatalf("item %d: trailing byte accepted", i)
		}
	}
}

func TestPutItemsRefusesWhatCannotDecode(t *testing.T) {
	s := openT(t, t.TempDir(), testOptions())
	big := testItem(2)
	big.V = bytes.Repeat([]byte("x"), maxItemValue+1)
	salted := testItem(2)
	salted.Salt = []byte("s")
	for name, it := range map[string]kad.ItemRecord{"value over 1,000 bytes": big, "empty value": {Target: testID(1)}, "immutable with salt": salted} {
		if err := s.PutItems([]kad.ItemRecord{it}, nil); err == nil {
			t.Errorf("%s: stored", name)
		}
	}
	if items, err := s.LoadItems(); err != nil || len(items) != 0 {
		t.Fatalf("refused items left %d records (%v)", len(items), err)
	}
}

func TestItemsPersist(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	want := map[krpc.ID]kad.ItemRecord{}
	for i := range 50 {
		it := testItem(i)
		if err := s.PutItems([]kad.ItemRecord{it}, nil); err != nil {
			t.Fatal(err)
		}
		want[it.Target] = it
	}
	// Dropping held items leaves own items at the same target alone.
	var drop []krpc.ID
	for i := 0; i < 50; i += 3 {
		if !testItem(i).Own {
			drop = append(drop, testItem(i).Target)
			delete(want, testItem(i).Target)
		}
	}
	if err := s.PutItems(nil, drop); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteOwnItem(testItem(5).Target); err != nil {
		t.Fatal(err)
	}
	delete(want, testItem(5).Target)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openT(t, dir, testOptions())
	checkItems(t, s, want)
}

func checkItems(t *testing.T, s *Store, want map[krpc.ID]kad.ItemRecord) {
	t.Helper()
	items, err := s.LoadItems()
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != len(want) {
		t.Fatalf("%d items loaded, want %d", len(items), len(want))
	}
	for _, it := range items {
		if w, ok := want[it.Target]; !ok || !sameItem(it, w) {
			t.Fatalf("loaded %+v, want %+v", it, w)
		}
	}
}

// A schema 1 store (contacts only) is migrated to schema 2: contacts stay,
// anything under the item prefixes is dropped, and items can be stored.
func TestMigrationToItemsSchema(t *testing.T) {
	dir := t.TempDir()
	kv := rawHeader(t, 1, testMeta())
	want := map[krpc.ID]kad.Contact{}
	for i := range 20 {
		c := testContact(i)
		rec, err := appendContact(nil, c)
		if err != nil {
			t.Fatal(err)
		}
		kv[string(contactKey(c.ID))] = rec
		want[c.ID] = c
	}
	kv[string(itemKey(testID(7), false))] = []byte("not an item record")
	writeRaw(t, dir, kv)

	s := openT(t, dir, testOptions())
	if v := s.Meta().SchemaVersion; v != 2 {
		t.Fatalf("schema %d after open, want 2", v)
	}
	checkContacts(t, loadT(t, s), want)
	checkItems(t, s, map[krpc.ID]kad.ItemRecord{})
	if err := s.PutItems([]kad.ItemRecord{testItem(1)}, nil); err != nil {
		t.Fatal(err)
	}
	checkItems(t, s, map[krpc.ID]kad.ItemRecord{testItem(1).Target: testItem(1)})
}

// TestPutItemsSurvivesSIGKILL: a child stores items and prints each index
// once PutItems returned; after a SIGKILL every printed item is there.
func TestPutItemsSurvivesSIGKILL(t *testing.T) {
	dir := t.TempDir()
	c := startChild(t, rolePutItems, dir)
	var returned []int
	for len(returned) < crashAfter/4 {
		i, err := strconv.Atoi(c.line(t))
		if err != nil {
			t.Fatal(err)
		}
		returned = append(returned, i)
	}
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for c.lines.Scan() {
		i, err := strconv.Atoi(c.lines.Text())
		if err != nil {
			break
		}
		returned = append(returned, i)
	}
	_ = c.cmd.Wait()
	if ws, ok := c.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
		t.Fatal("child was not killed mid-way: raise crashPutLimit")
	}
	s := openT(t, dir, testOptions())
	items, err := s.LoadItems()
	if err != nil {
		t.Fatal(err)
	}
	stored := map[krpc.ID]kad.ItemRecord{}
	for _, it := range items {
		stored[it.Target] = it
	}
	for _, i := range returned {
		want := testItem(i)
		if got, ok := stored[want.Target]; !ok || !sameItem(got, want) {
			t.Fatalf("item %d returned from PutItems before the kill but is %v in the store", i, ok)
		}
	}
	t.Logf("%d returned PutItems all present; %d items stored", len(returned), len(stored))
}

// childPutItems is rolePutItems: like childPut, with items.
func childPutItems(s *Store) {
	var out sync.Mutex
	var wg sync.WaitGroup
	for w := range crashWriters {
		wg.Go(func() {
			for i := w; i < crashPutLimit; i += crashWriters {
				if err := s.PutItems([]kad.ItemRecord{testItem(i)}, nil); err != nil {
					fmt.Fprintln(os.Stderr, err)
					return
				}
				out.Lock()
				os.Stdout.WriteString(strconv.Itoa(i) + "\n")
				out.Unlock()
			}
		})
	}
	wg.Wait()
}

func FuzzDecodeItem(f *testing.F) {
	for i := range 4 {
		it := testItem(i)
		f.Add(itemKey(it.Target, it.Own), appendItem(nil, it))
	}
	f.Fuzz(func(t *testing.T, key, rec []byte) {
		it, err := decodeItem(key, rec)
		if err != nil {
			return
		}
		again, err := decodeItem(itemKey(it.Target, it.Own), appendItem(nil, it))
		if err != nil || !reflect.DeepEqual(normalTimes(again), normalTimes(it)) {
			t.Fatalf("accepted %x but it does not round-trip: %+v / %+v (%v)", rec, it, again, err)
		}
	})
}

func normalTimes(it kad.ItemRecord) kad.ItemRecord {
	it.Stored, it.Expires = it.Stored.UTC(), it.Expires.UTC()
	return it
}
