package store

import "time"

// Schema.
const (
	// schemaVersion is the layout this build writes; older stores are
	// migrated up to it on Open, newer ones are refused.
	schemaVersion = 2
	// keyBits is the node ID size this build uses (krpc.ID, SHA-1 sized).
	keyBits = 160
	// idLen is the node ID length in bytes.
	idLen = keyBits / 8
)

// Key layout: one byte of kind, then the kind's own key.
const (
	// prefixVersion holds the schema version alone, in an encoding that never
	// changes, so any build can tell which layout it is looking at.
	prefixVersion = 'v'
	// prefixMeta holds the meta record (key size, own ID, network).
	prefixMeta = 'm'
	// prefixContact is followed by the contact's 20-byte ID.
	prefixContact = 'c'
	// prefixItem is followed by the 20-byte target of a BEP 44 item the
	// node holds for others (schema 2 on).
	prefixItem = 'i'
	// prefixOwnItem is followed by the target of an item the node put
	// itself and republishes (schema 2 on).
	prefixOwnItem = 'o'
)

// Record encodings.
const (
	// metaRecordVersion is the first byte of an encoded meta record.
	metaRecordVersion = 1
	// contactRecordVersion is the first byte of an encoded contact record.
	contactRecordVersion = 1
	// itemRecordVersion is the first byte of an encoded item record.
	itemRecordVersion = 1
	// maxItemValue and maxItemSalt bound a stored item's value and salt
	// (BEP 44's limits).
	maxItemValue = 1000
	maxItemSalt  = 64
	// maxFailures bounds a decoded failure count; anything larger is garbage.
	maxFailures = 1 << 16
	// maxNetworkLen bounds the network name in the meta record.
	maxNetworkLen = 255
	// maxAddrLen bounds an encoded netip.AddrPort (18 bytes plus an IPv6 zone).
	maxAddrLen = 64
)

// Defaults, sized for a small daemon of which several may share a machine.
const (
	// DefaultMemTableSize is Pebble's memtable size (Pebble's default is
	// 4 MiB); a full routing table is a few hundred KiB.
	DefaultMemTableSize = 1 << 20
	// DefaultCacheSize is Pebble's block cache size (Pebble's default is
	// 8 MiB); the table is read once, at start.
	DefaultCacheSize = 2 << 20
	// DefaultTouchInterval is the period of last-seen-only writes: at most
	// one per contact per interval.
	DefaultTouchInterval = time.Minute
	// maxOpenFiles bounds Pebble's table cache; the store has a few files.
	maxOpenFiles = 64
	// tableCacheShards is Pebble's table cache shards. Its default is one
	// per CPU, each with a goroutine for the store's whole life; a few
	// files need no more than one.
	tableCacheShards = 1
	// dirPerm is the permission of a directory the store creates.
	dirPerm = 0o700
	// rotationReserve is the free space, in memtables, below which a
	// Reopener fails its store: rotating the memtable needs a new WAL of
	// about one memtable, and flushing the old one a table file.
	rotationReserve = 2
)
