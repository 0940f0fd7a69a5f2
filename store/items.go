package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/cockroachdb/pebble"
	"github.com/kadnode/kadnode/kad"
)

// An item record (version 1) is:
//
//	byte     record version
//	byte     flags: bit 0 mutable (k, seq, sig follow)
//	varint   stored, unix nanoseconds
//	varint   expires, unix nanoseconds
//	byte     source length, then netip.Addr binary form
//	varint   cas
//	[mutable: 32 bytes k, varint seq, 64 bytes sig, byte salt length, salt]
//	uvarint  value length, then the value
//
// The target is the key, after the prefix (prefixItem or prefixOwnItem).

func itemKey(target krpc.ID, own bool) []byte {
	p := byte(prefixItem)
	if own {
		p = prefixOwnItem
	}
	return append([]byte{p}, target[:]...)
}

func checkItem(it kad.ItemRecord) error {
	switch {
	case len(it.V) == 0 || len(it.V) > maxItemValue:
		return fmt.Errorf("item %x has a value of %d bytes, want 1 to %d", it.Target, len(it.V), maxItemValue)
	case len(it.Salt) > maxItemSalt:
		return fmt.Errorf("item %x has a salt of %d bytes, over %d", it.Target, len(it.Salt), maxItemSalt)
	case len(it.Salt) > 0 && it.K == [32]byte{}:
		return fmt.Errorf("item %x is immutable but has a salt", it.Target)
	case len(it.Source.Zone()) > maxAddrLen-16:
		return fmt.Errorf("item %x has a source zone of %d bytes", it.Target, len(it.Source.Zone()))
	}
	for _, t := range [...]time.Time{it.Stored, it.Expires} {
		if t.Before(minTime) || t.After(maxTime) {
			return fmt.Errorf("item %x has time %v, outside what unix nanoseconds can hold", it.Target, t)
		}
	}
	return nil
}

func appendItem(b []byte, it kad.ItemRecord) []byte {
	mutable := it.K != [32]byte{}
	var flags byte
	if mutable {
		flags |= 1
	}
	b = append(b, itemRecordVersion, flags)
	b = binary.AppendVarint(b, it.Stored.UnixNano())
	b = binary.AppendVarint(b, it.Expires.UnixNano())
	src, _ := it.Source.MarshalBinary() // cannot fail; its size is checked
	b = append(b, byte(len(src)))
	b = append(b, src...)
	b = binary.AppendVarint(b, it.Cas)
	if mutable {
		b = append(b, it.K[:]...)
		b = binary.AppendVarint(b, it.Seq)
		b = append(b, it.Sig[:]...)
		b = append(b, byte(len(it.Salt)))
		b = append(b, it.Salt...)
	}
	b = binary.AppendUvarint(b, uint64(len(it.V)))
	return append(b, it.V...)
}

// decodeItem parses a record written by appendItem under key.
func decodeItem(key, rec []byte) (kad.ItemRecord, error) {
	var it kad.ItemRecord
	if len(key) != 1+idLen || (key[0] != prefixItem && key[0] != prefixOwnItem) {
		return it, fmt.Errorf("item key %x is not %d bytes of target after the prefix", key, idLen)
	}
	copy(it.Target[:], key[1:])
	it.Own = key[0] == prefixOwnItem
	r := reader{b: rec}
	if v := r.u8(); r.err == nil && v != itemRecordVersion {
		return it, fmt.Errorf("unknown item record version %d", v)
	}
	flags := r.u8()
	if flags > 1 {
		r.fail(fmt.Errorf("unknown item flags %#x", flags))
	}
	it.Stored = time.Unix(0, r.varint())
	it.Expires = time.Unix(0, r.varint())
	if src := r.bytes(int(r.u8())); r.err == nil {
		if err := it.Source.UnmarshalBinary(src); err != nil {
			return it, fmt.Errorf("bad source address: %w", err)
		}
	}
	it.Cas = r.varint()
	if flags&1 != 0 {
		copy(it.K[:], r.bytes(32))
		it.Seq = r.varint()
		copy(it.Sig[:], r.bytes(64))
		it.Salt = bytes.Clone(r.bytes(int(r.u8())))
		if r.err == nil && it.K == [32]byte{} {
			r.fail(errors.New("mutable item with a zero key"))
		}
		if len(it.Salt) == 0 {
			it.Salt = nil
		}
	}
	it.V = bytes.Clone(r.bytes(int(r.uvarint(maxItemValue))))
	if err := r.end(); err != nil {
		return it, err
	}
	return it, checkItem(it)
}

// PutItems writes items and deletes the items (held, not own) at the
// targets in drop, atomically; it returns once the change is durable.
func (s *Store) PutItems(items []kad.ItemRecord, drop []krpc.ID) error {
	for _, it := range items {
		if err := checkItem(it); err != nil {
			return err
		}
	}
	return s.writeItems(func(b *pebble.Batch) {
		for _, it := range items {
			_ = b.Set(itemKey(it.Target, it.Own), appendItem(nil, it), nil)
		}
		for _, t := range drop {
			_ = b.Delete(itemKey(t, false), nil)
		}
	}, len(items), len(drop))
}

// DeleteOwnItem forgets an item this node put, so it is not republished.
func (s *Store) DeleteOwnItem(target krpc.ID) error {
	return s.writeItems(func(b *pebble.Batch) { _ = b.Delete(itemKey(target, true), nil) }, 0, 1)
}

// writeItems commits the batch fill builds, through the same group commit
// as contacts (see writer.go).
func (s *Store) writeItems(fill func(*pebble.Batch), puts, deletes int) error {
	s.applyMu.Lock()
	s.mu.Lock()
	if err := s.writableLocked(false); err != nil {
		s.mu.Unlock()
		s.applyMu.Unlock()
		return err
	}
	s.inflight.Add(1)
	s.mu.Unlock()
	defer s.inflight.Done()
	b := s.db.NewBatch()
	fill(b)
	if err := s.commit(b); err != nil {
		return err
	}
	s.stats.itemPuts.Add(uint64(puts))
	s.stats.itemDeletes.Add(uint64(deletes))
	return nil
}

// LoadItems returns every stored item, held ones first, each in target
// order. A record that does not decode fails it with ErrCorrupt.
func (s *Store) LoadItems() ([]kad.ItemRecord, error) {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	var items []kad.ItemRecord
	for _, p := range [...]byte{prefixItem, prefixOwnItem} {
		got, err := s.loadItems(p)
		if err != nil {
			return nil, corruptError(s.dir, err)
		}
		items = append(items, got...)
	}
	return items, nil
}

func (s *Store) loadItems(prefix byte) (items []kad.ItemRecord, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("pebble panicked while reading: %v", r)
		}
	}()
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefix}, UpperBound: []byte{prefix + 1}})
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, it.Close()) }()
	for ok := it.First(); ok; ok = it.Next() {
		item, err := decodeItem(it.Key(), it.Value())
		if err != nil {
			return nil, fmt.Errorf("item record %x: %w", it.Key(), err)
		}
		items = append(items, item)
	}
	return items, it.Error()
}
