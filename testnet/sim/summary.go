package sim

import (
	"slices"

	"github.com/kadnode/kadnode/node"

	"github.com/anacrolix/dht/v2/krpc"
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
	s := slices.Clone(xs)
	slices.Sort(s)
	sum := 0
	for _, x := range s {
		sum += x
	}
	return Summary{
		Min:  s[0],
		P50:  percentile(s, 50),
		P99:  percentile(s, 99),
		Max:  s[len(s)-1],
		Mean: float64(sum) / float64(len(s)),
	}
}

// percentile is the nearest-rank p-th percentile of sorted s.
func percentile(s []int, p int) int {
	rank := (p*len(s) + 99) / 100 // ceil(p/100 · n)
	return s[max(rank, 1)-1]
}

func contactIDs(cs []node.LookupContact) []krpc.ID {
	out := make([]krpc.ID, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}
