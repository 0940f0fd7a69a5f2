package node

import (
	"sync"
	"time"
)

// rttEstimator keeps a smoothed round-trip time and its variation across
// all peers (RFC 6298's estimator), from which lookups derive a per-query
// timeout that follows the network instead of always waiting RPCTimeout.
// It also keeps the floor: the smallest round trip of the last
// RTTFloorWindow to 2·RTTFloorWindow calls. A call's time includes any
// handshake and any wait for the CPU; the floor is what the paths
// themselves cost.
type rttEstimator struct {
	mu      sync.Mutex
	srtt    time.Duration
	rttvar  time.Duration
	samples uint64
	// floorCur is the smallest sample of the window being filled,
	// floorPrev that of the one before it.
	floorCur, floorPrev time.Duration
}

func (e *rttEstimator) observe(d time.Duration) {
	if d <= 0 {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.samples == 0 {
		e.srtt = d
		e.rttvar = d / 2
	} else {
		diff := e.srtt - d
		if diff < 0 {
			diff = -diff
		}
		e.rttvar = (3*e.rttvar + diff) / 4
		e.srtt = (7*e.srtt + d) / 8
	}
	if e.samples%RTTFloorWindow == 0 {
		e.floorPrev, e.floorCur = e.floorCur, d
	}
	e.floorCur = min(e.floorCur, d)
	e.samples++
}

// floor is the smallest recent round trip; false until there is a sample.
func (e *rttEstimator) floor() (time.Duration, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.samples == 0 {
		return 0, false
	}
	if e.floorPrev > 0 {
		return min(e.floorCur, e.floorPrev), true
	}
	return e.floorCur, true
}

// timeout is how long a lookup waits for one reply before it stops counting
// the query against α: srtt + 4·rttvar, clamped to [lo, hi]; hi until
// there is a sample.
func (e *rttEstimator) timeout(lo, hi time.Duration) time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.samples == 0 {
		return hi
	}
	return min(max(e.srtt+4*e.rttvar, lo), hi)
}
