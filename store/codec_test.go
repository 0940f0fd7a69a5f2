package store

import (
	"net/netip"
	"testing"
	"time"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/kadnode/kadnode/kad"
	"pgregory.net/rapid"
)

// genContact draws a valid contact, IDs from a pool of idPool so that
// sequences of operations hit the same contacts.
func genContact(idPool int) *rapid.Generator[kad.Contact] {
	return rapid.Custom(func(t *rapid.T) kad.Contact {
		var addr netip.Addr
		if rapid.Bool().Draw(t, "v6") {
			a := [16]byte(rapid.SliceOfN(rapid.Byte(), 16, 16).Draw(t, "ip6"))
			addr = netip.AddrFrom16(a)
			if rapid.Bool().Draw(t, "zone") {
				addr = addr.WithZone(rapid.StringMatching(`[a-z0-9]{1,15}`).Draw(t, "zone name"))
			}
		} else {
			addr = netip.AddrFrom4([4]byte(rapid.SliceOfN(rapid.Byte(), 4, 4).Draw(t, "ip4")))
		}
		genTime := func(label string) time.Time {
			if rapid.IntRange(0, 4).Draw(t, label+" zero") == 0 {
				return time.Time{}
			}
			return time.Unix(0, rapid.Int64().Draw(t, label))
		}
		return kad.Contact{
			ID:           testID(rapid.IntRange(0, idPool-1).Draw(t, "id")),
			Addr:         netip.AddrPortFrom(addr, rapid.Uint16().Draw(t, "port")),
			FirstSeen:    genTime("first"),
			LastSeen:     genTime("last"),
			LastResponse: genTime("response"),
			Failures:     rapid.IntRange(0, maxFailures).Draw(t, "failures"),
			Place:        rapid.SampledFrom([]kad.Place{kad.InBucket, kad.InReplacement}).Draw(t, "place"),
		}
	})
}

func TestContactRecordRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		c := genContact(1<<20).Draw(t, "contact")
		rec, err := appendContact(nil, c)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeContact(c.ID, rec)
		if err != nil {
			t.Fatalf("decode %x: %v", rec, err)
		}
		if !sameContact(got, c) {
			t.Fatalf("decoded %+v, want %+v", got, c)
		}
		// Every strict prefix is refused, not misread.
		for n := range len(rec) {
			if _, err := decodeContact(c.ID, rec[:n]); err == nil {
				t.Fatalf("prefix %x of %x decoded", rec[:n], rec)
			}
		}
	})
}

func TestContactRecordIsCompact(t *testing.T) {
	c := testContact(1) // IPv4, every time set
	rec, err := appendContact(nil, c)
	if err != nil {
		t.Fatal(err)
	}
	// version, place, failures, len+6 address bytes, flags, 3 times of at most 9 bytes
	if limit := 1 + 1 + 1 + 7 + 1 + 3*9; len(rec) > limit {
		t.Fatalf("record of %d bytes, want at most %d", len(rec), limit)
	}
}

func TestMetaRecordRoundTrip(t *testing.T) {
	m := Meta{KeyBits: keyBits, SelfID: testID(9), Network: "kadnode-main"}
	rec, err := encodeMeta(m)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeMeta(rec)
	if err != nil || got != m {
		t.Fatalf("decodeMeta = %+v, %v; want %+v", got, err, m)
	}
	for n := range len(rec) {
		if _, err := decodeMeta(rec[:n]); err == nil {
			t.Fatalf("prefix of %d bytes decoded", n)
		}
	}
	if _, err := encodeMeta(Meta{Network: string(make([]byte, maxNetworkLen+1))}); err == nil {
		t.Fatal("oversized network name encoded")
	}
}

// FuzzDecodeContact: no input makes the decoder panic, and whatever it
// accepts encodes to a record that decodes to the same contact (byte
// equality would be too strict: a varint may be written in more bytes).
func FuzzDecodeContact(f *testing.F) {
	for i := range 4 {
		rec, err := appendContact(nil, testContact(i))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(rec)
	}
	f.Add([]byte{})
	f.Add([]byte{contactRecordVersion, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1})
	f.Fuzz(func(t *testing.T, rec []byte) {
		var id krpc.ID
		c, err := decodeContact(id, rec)
		if err != nil {
			return
		}
		again, err := appendContact(nil, c)
		if err != nil {
			t.Fatalf("decoded contact %+v does not encode: %v", c, err)
		}
		if back, err := decodeContact(id, again); err != nil || !sameContact(back, c) {
			t.Fatalf("record %x decoded as %+v, re-encoded as %x, decoded as %+v (%v)", rec, c, again, back, err)
		}
	})
}
