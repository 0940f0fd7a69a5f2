package store

import (
	"errors"
	"fmt"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/cockroachdb/pebble"
	"github.com/kadnode/kadnode/kad"
)

// Load returns every stored contact in ID order, with pending last-seen
// updates applied; contacts only touched, never put, follow in no order. A
// record that does not decode fails the whole Load with ErrCorrupt: the
// table must not start from part of its memory unnoticed.
func (s *Store) Load() ([]kad.Contact, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, ErrClosed
	}
	if s.wedged.Load() {
		s.mu.Unlock()
		return nil, s.failed
	}
	pending := make(map[krpc.ID]kad.Contact, s.pending.len())
	for _, c := range s.pending.list {
		pending[c.ID] = c
	}
	s.mu.Unlock()

	cs, err := s.loadContacts()
	if err != nil {
		return nil, corruptError(s.dir, err)
	}
	for i := range cs {
		if c, ok := pending[cs[i].ID]; ok {
			cs[i] = c
			delete(pending, c.ID)
		}
	}
	for _, c := range pending { // touched but never put: still the table's state
		cs = append(cs, c)
	}
	return cs, nil
}

func (s *Store) loadContacts() (cs []kad.Contact, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("pebble panicked while reading: %v", r)
		}
	}()
	it, err := s.db.NewIter(&pebble.IterOptions{
		LowerBound: []byte{prefixContact},
		UpperBound: []byte{prefixContact + 1},
	})
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, it.Close()) }()
	for ok := it.First(); ok; ok = it.Next() {
		id, err := contactID(it.Key())
		if err != nil {
			return nil, err
		}
		c, err := decodeContact(id, it.Value())
		if err != nil {
			return nil, fmt.Errorf("contact record %x: %w", id[:], err)
		}
		cs = append(cs, c)
	}
	return cs, it.Error()
}
