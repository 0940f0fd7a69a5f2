package node

import (
	"sync"
	"time"
)

// rttEstimator keeps a smoothed round-trip time and its variation across
// all peers (RFC 6298's estimator), from which lookups derive a per-query
// timeout that follows the network instead of always waiting RPCTimeout.
type rttEstimator struct {
	mu      sync.Mutex
	srtt    time.Duration
	rttvar  time.Duration
	samples uint64
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
	e.samples++
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
