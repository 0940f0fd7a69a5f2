package store

import (
	"github.com/anacrolix/dht/v2/krpc"
)

// Meta is the store's header record.
type Meta struct {
	SchemaVersion int
	KeyBits       int // 160
	SelfID        krpc.ID
	Network       string
}
