package node

import (
	"sync"
)

// RPC outcomes counted in Stats.
const (
	outcomeOK      = "ok"      // answered (inbound: we replied; outbound: a valid reply)
	outcomeError   = "error"   // a KRPC error, a failed handshake or an unusable reply
	outcomeTimeout = "timeout" // no reply within the RPC timeout
	outcomeInvalid = "invalid" // inbound query rejected by validation
	outcomeIgnored = "ignored" // inbound query not served (read-only mode)
)

// methodUnknown stands for every method name we do not serve, so that a
// peer cannot grow the counter maps with made-up names.
const methodUnknown = "unknown"

// rpcCounters counts RPCs by method and outcome.
type rpcCounters struct {
	mu sync.Mutex
	m  map[string]map[string]uint64
}

func (c *rpcCounters) add(method, outcome string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[string]map[string]uint64)
	}
	byOutcome := c.m[method]
	if byOutcome == nil {
		byOutcome = make(map[string]uint64)
		c.m[method] = byOutcome
	}
	byOutcome[outcome]++
}

// get returns one counter (tests and logs).
func (c *rpcCounters) get(method, outcome string) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[method][outcome]
}

func (c *rpcCounters) snapshot() map[string]map[string]uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]map[string]uint64, len(c.m))
	for method, byOutcome := range c.m {
		cp := make(map[string]uint64, len(byOutcome))
		for k, v := range byOutcome {
			cp[k] = v
		}
		out[method] = cp
	}
	return out
}
