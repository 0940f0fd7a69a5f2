package wire

import (
	"sync"
	"time"
)

// rttFloor is the smallest round trip of a query over an established
// session among the last rttFloorWindow to 2·rttFloorWindow calls: what
// the paths cost, without the handshakes that first contacts add and
// with as little of the wait for a busy CPU as a window holds.
type rttFloor struct {
	mu      sync.Mutex
	samples uint64
	// cur is the smallest round trip of the window being filled, prev
	// that of the one before it.
	cur, prev time.Duration
}

func (f *rttFloor) observe(d time.Duration) {
	if d <= 0 {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.samples%rttFloorWindow == 0 {
		f.prev, f.cur = f.cur, d
	}
	f.cur = min(f.cur, d)
	f.samples++
}

// get is the floor; false until a query has been answered.
func (f *rttFloor) get() (time.Duration, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.samples == 0 {
		return 0, false
	}
	if f.prev > 0 {
		return min(f.cur, f.prev), true
	}
	return f.cur, true
}
