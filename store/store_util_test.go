package store

import (
	"crypto/sha1"
	"encoding/binary"
	"log/slog"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/cockroachdb/pebble"
	"github.com/kadnode/kadnode/kad"
	"go.uber.org/goleak"
)

// childEnv selects a child-process role when the test binary re-executes
// itself (lock and crash tests).
const childEnv = "KADNODE_STORE_TEST_CHILD"

func TestMain(m *testing.M) {
	if role := os.Getenv(childEnv); role != "" {
		os.Exit(runChild(role))
	}
	goleak.VerifyTestMain(m)
}

const testNetwork = "testnet"

// testID returns a deterministic node ID.
func testID(i int) krpc.ID {
	return krpc.ID(sha1.Sum(binary.BigEndian.AppendUint64(nil, uint64(i))))
}

var testEpoch = time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)

// testContact returns a deterministic contact with every field set.
func testContact(i int) kad.Contact {
	place := kad.InBucket
	if i%3 == 0 {
		place = kad.InReplacement
	}
	addr := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), uint16(1024+i%60000))
	if i%2 == 0 {
		a16 := [16]byte{0x20, 0x01, 0x0d, 0xb8, 14: byte(i >> 8), 15: byte(i)}
		addr = netip.AddrPortFrom(netip.AddrFrom16(a16), uint16(2000+i%60000))
	}
	c := kad.Contact{
		ID:        testID(i),
		Addr:      addr,
		FirstSeen: testEpoch.Add(time.Duration(i) * time.Second),
		LastSeen:  testEpoch.Add(time.Duration(i) * time.Minute),
		Failures:  i % 3,
		Place:     place,
	}
	if i%4 != 0 {
		c.LastResponse = testEpoch.Add(time.Duration(i) * time.Hour)
	}
	return c
}

func testOptions() Options {
	return Options{Network: testNetwork, SelfID: testID(-1)}
}

// testMeta is the meta record of a store opened with testOptions.
func testMeta() Meta {
	return Meta{KeyBits: keyBits, SelfID: testID(-1), Network: testNetwork}
}

// openT opens a store and closes it at the end of the test.
func openT(t testing.TB, dir string, o Options) *Store {
	t.Helper()
	s, err := Open(dir, o)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// sameContact compares contacts field by field (times by instant).
func sameContact(a, b kad.Contact) bool {
	return a.ID == b.ID && a.Addr == b.Addr && a.FirstSeen.Equal(b.FirstSeen) &&
		a.LastSeen.Equal(b.LastSeen) && a.LastResponse.Equal(b.LastResponse) &&
		a.Failures == b.Failures && a.Place == b.Place
}

// checkContacts fails unless got holds exactly the contacts of want.
func checkContacts(t testing.TB, got []kad.Contact, want map[krpc.ID]kad.Contact) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("loaded %d contacts, want %d", len(got), len(want))
	}
	for _, c := range got {
		w, ok := want[c.ID]
		if !ok {
			t.Fatalf("loaded unexpected contact %x", c.ID[:])
		}
		if !sameContact(c, w) {
			t.Fatalf("contact %x: loaded %+v, want %+v", c.ID[:], c, w)
		}
	}
}

// loadT loads and fails the test on error.
func loadT(t testing.TB, s *Store) []kad.Contact {
	t.Helper()
	cs, err := s.Load()
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return cs
}

func osReadDirNames(dir string) ([]string, error) {
	es, err := os.ReadDir(dir)
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names, err
}

// waitFor polls cond until it holds, failing the test after a deadline.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// writeRaw writes keys straight into a Pebble store in dir, as another
// version of the program (or something else) would have.
func writeRaw(t testing.TB, dir string, kv map[string][]byte) {
	t.Helper()
	db, err := pebble.Open(dir, &pebble.Options{Logger: quietPebbleLogger()})
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range kv {
		if err := db.Set([]byte(k), v, pebble.Sync); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// contactKey returns the key of the contact with the given ID.
func contactKey(id krpc.ID) []byte {
	var k [1 + idLen]byte
	return append([]byte(nil), putContactKey(&k, id)...)
}

// rawHeader returns the version and meta records of a store.
func rawHeader(t testing.TB, version int, m Meta) map[string][]byte {
	t.Helper()
	rec, err := encodeMeta(m)
	if err != nil {
		t.Fatal(err)
	}
	return map[string][]byte{string(versionKey): encodeVersion(version), string(metaKey): rec}
}

func quietPebbleLogger() pebble.Logger {
	return pebbleLogger{log: slog.New(slog.DiscardHandler), fatal: func(error) {}}
}

// storeOf writes a closed store in dir holding testContact(i) for i in
// [from, to), and returns those contacts.
func storeOf(t testing.TB, dir string, from, to int) map[krpc.ID]kad.Contact {
	t.Helper()
	s, err := Open(dir, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	want := map[krpc.ID]kad.Contact{}
	for i := from; i < to; i++ {
		if err := s.Put(testContact(i)); err != nil {
			t.Fatal(err)
		}
		want[testID(i)] = testContact(i)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return want
}
