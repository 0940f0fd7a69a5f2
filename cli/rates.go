package cli

import (
	"sync"
	"time"
)

// rateSample is the counters behind the status page's per-second rates.
type rateSample struct {
	at                  time.Time
	handshakes, in, out uint64
}

// rateMeter turns counters into rates over a sliding window of about
// rateWindow: each render compares with a sample taken at least that long
// ago (or the start, before there is one), so a page reloaded every few
// seconds shows the traffic of the last several seconds.
type rateMeter struct {
	mu         sync.Mutex
	base, next rateSample // base: compared with; next: becomes base once old enough
}

// rateWindow is the span the status page's rates are averaged over.
const rateWindow = 10 * time.Second

// advance records cur and returns the sample to compare it with.
func (m *rateMeter) advance(cur rateSample, started time.Time) rateSample {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.base.at.IsZero() {
		m.base = rateSample{at: started}
	}
	if m.next.at.IsZero() {
		m.next = cur
	}
	if cur.at.Sub(m.next.at) >= rateWindow {
		m.base, m.next = m.next, cur
	}
	return m.base
}

func sumMap(m map[string]uint64) uint64 {
	var t uint64
	for _, v := range m {
		t += v
	}
	return t
}

func sumNested(m map[string]map[string]uint64) uint64 {
	var t uint64
	for _, inner := range m {
		t += sumMap(inner)
	}
	return t
}
