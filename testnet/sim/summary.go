package sim

import (
	"github.com/anacrolix/dht/v2/krpc"

	"github.com/kadnode/kadnode/node"
	"github.com/kadnode/kadnode/testnet/stats"
)

// Summary is the distribution of one count (per lookup, per node).
type Summary struct {
	Min, P50, P99, Max int
	Mean               float64
}

// summarize takes nearest-rank percentiles of xs.
func summarize(xs []int) Summary {
	if len(xs) == 0 {
		return Summary{}
	}
	sum := 0
	for _, x := range xs {
		sum += x
	}
	ps := stats.Percentiles(xs, 0, 50, 99, 100)
	return Summary{
		Min:  ps[0],
		P50:  ps[1],
		P99:  ps[2],
		Max:  ps[3],
		Mean: float64(sum) / float64(len(xs)),
	}
}

func contactIDs(cs []node.Responder) []krpc.ID {
	out := make([]krpc.ID, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}
