// Package stats holds the small statistics the test networks, the
// benchmarks and the simulator report with: nearest-rank percentiles and
// the process's resident set. It imports nothing of kadnode, so the
// simulator can use it without linking the DTLS transport or Pebble.
package stats

import (
	"cmp"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
)

// Percentiles returns the nearest-rank percentiles ps of xs, in the order
// of ps: for p in (0, 100], the smallest value with at least p% of xs at
// or below it; p = 0 gives the minimum. xs is sorted once, on a copy; an
// empty xs gives zero values.
func Percentiles[T cmp.Ordered](xs []T, ps ...float64) []T {
	out := make([]T, len(ps))
	if len(xs) == 0 {
		return out
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	for i, p := range ps {
		rank := int(math.Ceil(p * float64(len(s)) / 100)) // 1-based
		out[i] = s[min(max(rank, 1), len(s))-1]
	}
	return out
}

// ResidentSet is the process's resident set size in bytes (VmRSS of
// /proc/self/status), or 0 where that is not known.
func ResidentSet() uint64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}
