package store

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/kadnode/kadnode/kad"
)

func TestPutDeleteSurviveReopen(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	want := map[krpc.ID]kad.Contact{}
	for i := range 50 {
		c := testContact(i)
		if err := s.Put(c); err != nil {
			t.Fatal(err)
		}
		want[c.ID] = c
	}
	for i := 0; i < 50; i += 5 {
		if err := s.Delete(testID(i)); err != nil {
			t.Fatal(err)
		}
		delete(want, testID(i))
	}
	moved := testContact(7)
	moved.Addr = testContact(8).Addr
	moved.Place = kad.InReplacement
	if err := s.Put(moved); err != nil {
		t.Fatal(err)
	}
	want[moved.ID] = moved
	checkContacts(t, loadT(t, s), want)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openT(t, dir, testOptions())
	checkContacts(t, loadT(t, s), want)
	if m := s.Meta(); m.SchemaVersion != schemaVersion || m.KeyBits != 160 || m.Network != testNetwork || m.SelfID != testID(-1) {
		t.Fatalf("meta = %+v", m)
	}
	if _, changed := s.SelfChanged(); changed {
		t.Fatal("SelfChanged on the same ID")
	}
}

func TestUpdateIsAtomicAndOrdered(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, testOptions())
	a, b := testContact(1), testContact(2)
	if err := s.Put(a); err != nil {
		t.Fatal(err)
	}
	b.Place = kad.InReplacement
	if err := s.Put(b); err != nil {
		t.Fatal(err)
	}
	// Evict a, promote b, in one batch.
	b.Place = kad.InBucket
	if err := s.Update([]kad.Contact{b}, []krpc.ID{a.ID}); err != nil {
		t.Fatal(err)
	}
	checkContacts(t, loadT(t, s), map[krpc.ID]kad.Contact{b.ID: b})
}

func TestInvalidContactIsRefused(t *testing.T) {
	s := openT(t, t.TempDir(), testOptions())
	bad := []kad.Contact{
		{ID: testID(1), Place: kad.InBucket},                 // no address
		{ID: testID(1), Addr: testContact(1).Addr, Place: 0}, // no place
		{ID: testID(1), Addr: testContact(1).Addr, Place: 3}, // unknown place
		{ID: testID(1), Addr: testContact(1).Addr, Place: kad.InBucket, Failures: -1},
		{ID: testID(1), Addr: testContact(1).Addr, Place: kad.InBucket, LastSeen: time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC)},
		{ID: testID(1), Addr: netip.AddrPortFrom(testContact(2).Addr.Addr().WithZone(strings.Repeat("z", 60)), 1), Place: kad.InBucket},
	}
	for _, c := range bad {
		if err := s.Put(c); err == nil {
			t.Errorf("Put(%+v) succeeded", c)
		}
		if err := s.Touch(c); err == nil {
			t.Errorf("Touch(%+v) succeeded", c)
		}
	}
	if n := len(loadT(t, s)); n != 0 {
		t.Fatalf("%d contacts stored after refused writes", n)
	}
}

func TestClosedStoreRefuses(t *testing.T) {
	s, err := Open(t.TempDir(), testOptions())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(testContact(1)); err != ErrClosed {
		t.Fatalf("Put after Close = %v, want ErrClosed", err)
	}
	if err := s.Touch(testContact(1)); err != ErrClosed {
		t.Fatalf("Touch after Close = %v, want ErrClosed", err)
	}
	if _, err := s.Load(); err != ErrClosed {
		t.Fatalf("Load after Close = %v, want ErrClosed", err)
	}
	if err := s.Close(); err != ErrClosed {
		t.Fatalf("second Close = %v, want ErrClosed", err)
	}
}

func TestInMemoryWritesNothingToDisk(t *testing.T) {
	dir := t.TempDir()
	o := testOptions()
	o.InMemory = true
	s := openT(t, dir, o)
	if err := s.Put(testContact(1)); err != nil {
		t.Fatal(err)
	}
	checkContacts(t, loadT(t, s), map[krpc.ID]kad.Contact{testID(1): testContact(1)})
	names, err := osReadDirNames(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 0 {
		t.Fatalf("in-memory store wrote %v", names)
	}
}
