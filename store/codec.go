package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/kadnode/kadnode/kad"
)

// A contact record (version 1) is:
//
//	byte     record version
//	byte     place
//	uvarint  consecutive failures
//	byte     address length, then netip.AddrPort binary form
//	byte     which times follow: bit 0 first seen, 1 last seen, 2 last response
//	varint   each time present, in that order, as unix nanoseconds
//
// The ID is the key, so it is not repeated. Decoding is strict: a record that
// does not parse exactly is reported, never guessed at.

var errShortRecord = errors.New("record is truncated")

// putContactKey writes the key of id into k, without allocating.
func putContactKey(k *[1 + idLen]byte, id krpc.ID) []byte {
	k[0] = prefixContact
	copy(k[1:], id[:])
	return k[:]
}

// contactID parses a contact key.
func contactID(key []byte) (krpc.ID, error) {
	var id krpc.ID
	if len(key) != 1+idLen || key[0] != prefixContact {
		return id, fmt.Errorf("contact key %x is not %d bytes of ID after the prefix", key, idLen)
	}
	copy(id[:], key[1:])
	return id, nil
}

// checkContact rejects a contact that could not be decoded again.
func checkContact(c kad.Contact) error {
	if c.Place != kad.InBucket && c.Place != kad.InReplacement {
		return fmt.Errorf("contact %x has invalid place %d", c.ID, c.Place)
	}
	if c.Failures < 0 || c.Failures > maxFailures {
		return fmt.Errorf("contact %x has invalid failure count %d", c.ID, c.Failures)
	}
	if !c.Addr.IsValid() {
		return fmt.Errorf("contact %x has no address", c.ID)
	}
	// The binary form is 4 or 16 address bytes, the IPv6 zone and 2 of port.
	if zone := c.Addr.Addr().Zone(); 16+len(zone)+2 > maxAddrLen {
		return fmt.Errorf("contact %x has an address zone of %d bytes", c.ID, len(zone))
	}
	for _, t := range [...]time.Time{c.FirstSeen, c.LastSeen, c.LastResponse} {
		if !t.IsZero() && (t.Before(minTime) || t.After(maxTime)) {
			return fmt.Errorf("contact %x has time %v, outside what unix nanoseconds can hold", c.ID, t)
		}
	}
	return nil
}

// The range of times a record can hold (int64 unix nanoseconds).
var (
	minTime = time.Unix(0, math.MinInt64)
	maxTime = time.Unix(0, math.MaxInt64)
)

// appendContact appends the record of c (without its ID) to b, or refuses
// a contact that fails checkContact.
func appendContact(b []byte, c kad.Contact) ([]byte, error) {
	if err := checkContact(c); err != nil {
		return b, err
	}
	return appendCheckedContact(b, c), nil
}

// appendCheckedContact appends the record of c, which has passed
// checkContact, to b.
func appendCheckedContact(b []byte, c kad.Contact) []byte {
	b = append(b, contactRecordVersion, byte(c.Place))
	b = binary.AppendUvarint(b, uint64(c.Failures))
	addr, _ := c.Addr.MarshalBinary() // cannot fail; its size is checked
	b = append(b, byte(len(addr)))
	b = append(b, addr...)
	times := [...]time.Time{c.FirstSeen, c.LastSeen, c.LastResponse}
	var present byte
	for i, t := range times {
		if !t.IsZero() {
			present |= 1 << i
		}
	}
	b = append(b, present)
	for _, t := range times {
		if !t.IsZero() {
			b = binary.AppendVarint(b, t.UnixNano())
		}
	}
	return b
}

// decodeContact parses a record written by appendContact.
func decodeContact(id krpc.ID, rec []byte) (kad.Contact, error) {
	c := kad.Contact{ID: id}
	r := reader{b: rec}
	if v := r.u8(); r.err == nil && v != contactRecordVersion {
		return c, fmt.Errorf("unknown contact record version %d", v)
	}
	c.Place = kad.Place(r.u8())
	c.Failures = int(r.uvarint(maxFailures))
	addr := r.bytes(int(r.u8()))
	if r.err == nil {
		if err := c.Addr.UnmarshalBinary(addr); err != nil {
			return c, fmt.Errorf("bad address: %w", err)
		}
	}
	present := r.u8()
	if present > 1<<3-1 {
		r.fail(fmt.Errorf("unknown time flags %#x", present))
	}
	for i, t := range [...]*time.Time{&c.FirstSeen, &c.LastSeen, &c.LastResponse} {
		if present&(1<<i) != 0 {
			*t = time.Unix(0, r.varint())
		}
	}
	if err := r.end(); err != nil {
		return c, err
	}
	return c, checkContact(c)
}

// reader parses a record; the first error sticks and later reads return
// zero values, so a decoder checks once at the end.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
	r.b = nil
}

func (r *reader) u8() byte {
	if len(r.b) < 1 {
		r.fail(errShortRecord)
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *reader) bytes(n int) []byte {
	if len(r.b) < n {
		r.fail(errShortRecord)
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) uvarint(max uint64) uint64 {
	v, n := binary.Uvarint(r.b)
	if !r.skipVarint(n) {
		return 0
	}
	if v > max {
		r.fail(fmt.Errorf("value %d exceeds its limit %d", v, max))
		return 0
	}
	return v
}

func (r *reader) varint() int64 {
	v, n := binary.Varint(r.b)
	if !r.skipVarint(n) {
		return 0
	}
	return v
}

// skipVarint consumes a varint of n bytes as binary.(U)varint reported it.
func (r *reader) skipVarint(n int) bool {
	switch {
	case n == 0:
		r.fail(errShortRecord)
	case n < 0:
		r.fail(errors.New("varint overflows 64 bits"))
	default:
		r.b = r.b[n:]
		return true
	}
	return false
}

// end reports the first error, or trailing bytes.
func (r *reader) end() error {
	if r.err != nil {
		return r.err
	}
	if len(r.b) != 0 {
		return fmt.Errorf("%d unexpected bytes after the record", len(r.b))
	}
	return nil
}

// A meta record (version 1) is:
//
//	byte     record version
//	uvarint  key bits
//	20 bytes own node ID
//	byte     network name length, then the name
//
// The schema version is not part of it: it has its own key (versionKey).

func encodeMeta(m Meta) ([]byte, error) {
	if err := checkNetwork(m.Network); err != nil {
		return nil, err
	}
	b := []byte{metaRecordVersion}
	b = binary.AppendUvarint(b, uint64(m.KeyBits))
	b = append(b, m.SelfID[:]...)
	b = append(b, byte(len(m.Network)))
	return append(b, m.Network...), nil
}

// checkNetwork rejects a network name the meta record cannot hold.
func checkNetwork(name string) error {
	if len(name) > maxNetworkLen {
		return fmt.Errorf("network name is %d bytes, at most %d allowed", len(name), maxNetworkLen)
	}
	return nil
}

func decodeMeta(rec []byte) (Meta, error) {
	var m Meta
	r := reader{b: rec}
	if v := r.u8(); r.err == nil && v != metaRecordVersion {
		return m, fmt.Errorf("unknown meta record version %d", v)
	}
	m.KeyBits = int(r.uvarint(1 << 16))
	copy(m.SelfID[:], r.bytes(idLen))
	m.Network = string(r.bytes(int(r.u8())))
	return m, r.end()
}

// versionKey holds the schema version as 4 big-endian bytes.
var versionKey = []byte{prefixVersion}

// metaKey holds the meta record.
var metaKey = []byte{prefixMeta}

func encodeVersion(v int) []byte { return binary.BigEndian.AppendUint32(nil, uint32(v)) }

func decodeVersion(rec []byte) (int, error) {
	if len(rec) != 4 {
		return 0, fmt.Errorf("schema version record is %d bytes, want 4", len(rec))
	}
	return int(binary.BigEndian.Uint32(rec)), nil
}
