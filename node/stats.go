package node

import (
	"slices"
	"sync/atomic"

	"github.com/kadnode/kadnode/kad"
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

// rpcMethods and rpcOutcomes are every method and outcome counted: the
// counters are a fixed array, so counting an RPC takes no lock and no map
// lookup on the path of every query.
var (
	rpcMethods  = [...]string{kad.MethodPing, kad.MethodFindNode, kad.MethodGet, kad.MethodPut, methodUnknown}
	rpcOutcomes = [...]string{outcomeOK, outcomeError, outcomeTimeout, outcomeInvalid, outcomeIgnored}
)

// rpcCounters counts RPCs by method and outcome.
type rpcCounters struct {
	n [len(rpcMethods)][len(rpcOutcomes)]atomic.Uint64
}

// counter is the counter of method (methodUnknown for one not served)
// and outcome, which must be one of rpcOutcomes.
func (c *rpcCounters) counter(method, outcome string) *atomic.Uint64 {
	m := slices.Index(rpcMethods[:], method)
	if m < 0 {
		m = slices.Index(rpcMethods[:], methodUnknown)
	}
	o := slices.Index(rpcOutcomes[:], outcome)
	if o < 0 {
		panic("node: RPC outcome " + outcome + " is not counted")
	}
	return &c.n[m][o]
}

func (c *rpcCounters) add(method, outcome string) { c.counter(method, outcome).Add(1) }

// get returns one counter (tests and logs).
func (c *rpcCounters) get(method, outcome string) uint64 { return c.counter(method, outcome).Load() }

// snapshot returns the counters that are not zero, by method and outcome.
func (c *rpcCounters) snapshot() map[string]map[string]uint64 {
	out := make(map[string]map[string]uint64)
	for m, method := range rpcMethods {
		for o, outcome := range rpcOutcomes {
			v := c.n[m][o].Load()
			if v == 0 {
				continue
			}
			if out[method] == nil {
				out[method] = make(map[string]uint64)
			}
			out[method][outcome] = v
		}
	}
	return out
}
