package testnet

import (
	"time"

	"github.com/kadnode/kadnode/node/stack"
)

// In-process network defaults.
const (
	// DefaultNetwork is the network name of a harness network.
	DefaultNetwork = "testnet"
	// StoreDirName is the Pebble dir inside a node's data dir, as the
	// daemon lays it out.
	StoreDirName = stack.TableDir
	// StoreMemTableSize and StoreCacheSize keep Pebble small: a thousand
	// nodes share one process, and a routing table is a few hundred KiB.
	StoreMemTableSize = 256 << 10
	StoreCacheSize    = 256 << 10
	// WaitPollInterval is how often WaitFor checks its condition.
	WaitPollInterval = 10 * time.Millisecond
	// APIAttempts is how often Get tries one read of a node's control API
	// that got no answer.
	APIAttempts = 3
)
