package sim

import (
	"sync"

	"github.com/anacrolix/dht/v2/krpc"

	"github.com/kadnode/kadnode/kad"
	"github.com/kadnode/kadnode/node"
)

var _ node.Store = (*MemStore)(nil)

// MemStore is an in-memory node.Store: the simulation needs the table's
// writes to go somewhere, but persistence is not what it measures.
type MemStore struct {
	mu       sync.Mutex
	contacts map[krpc.ID]kad.Contact
}

// NewMemStore makes an empty store.
func NewMemStore() *MemStore {
	return &MemStore{contacts: make(map[krpc.ID]kad.Contact)}
}

// Load returns every stored contact.
func (s *MemStore) Load() ([]kad.Contact, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]kad.Contact, 0, len(s.contacts))
	for _, c := range s.contacts {
		out = append(out, c)
	}
	return out, nil
}

// Put stores c, replacing any contact with its ID.
func (s *MemStore) Put(c kad.Contact) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.contacts[c.ID] = c
	return nil
}

// Touch records c's new last-seen time.
func (s *MemStore) Touch(c kad.Contact) error { return s.Put(c) }

// Delete removes the contact with id.
func (s *MemStore) Delete(id krpc.ID) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.contacts, id)
	return nil
}

// Len is the number of stored contacts.
func (s *MemStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.contacts)
}
