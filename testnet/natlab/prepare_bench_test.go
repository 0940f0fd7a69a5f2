package natlab

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"github.com/kadnode/kadnode/testnet/stats"
)

// Sizes of BenchmarkPrepareAheadOverDelay; KADNODE_DELAY_NODES and
// KADNODE_DELAY_ROUNDS override them.
const (
	delayBenchNodes  = 30
	delayBenchRounds = 4
	// delayBenchOneWay is the range of one-way delays per pair of hosts:
	// round trips of 20-120 ms, as between hosts on one continent.
	delayBenchMinOneWay = 10 * time.Millisecond
	delayBenchMaxOneWay = 60 * time.Millisecond
	// delayBenchIdle bounds the wait before each round until every node
	// was seen without a live session (the idle timeout is 30 s), so that
	// every lookup starts cold, as a node's lookups minutes apart do.
	// Resumption tickets are kept, as they are for an hour.
	delayBenchIdle = 2 * time.Minute
	// delayBenchK is the bucket size: 8, so that a table holds only part
	// of 30 nodes and lookups go beyond it.
	delayBenchK = "8"
)

// BenchmarkPrepareAheadOverDelay measures what preparing handshakes ahead
// (--prepare-ahead) does to lookups on a network with real latency: kadnode
// processes in namespaces behind a delay router, half of them with
// --prepare-ahead 3 (the default), half with it off. In each round every
// node looks up one random ID, one node at a time, after a pause that lets
// every session idle out. It reports the median lookup time of each half
// and their ratio; run it with -benchtime 1x (each iteration is a whole
// network).
func BenchmarkPrepareAheadOverDelay(b *testing.B) {
	n := envInt(b, "KADNODE_DELAY_NODES", delayBenchNodes)
	rounds := envInt(b, "KADNODE_DELAY_ROUNDS", delayBenchRounds)
	bin := Binary(b, modRoot)
	for range b.N {
		on, off := prepareAheadRun(b, bin, n, rounds)
		b.ReportMetric(median(on.ms), "ms-p50-prepare")
		b.ReportMetric(median(off.ms), "ms-p50-off")
		b.ReportMetric(median(off.ms)/median(on.ms), "off/prepare")
		b.ReportMetric(mean(on.queries), "queries-prepare")
		b.ReportMetric(mean(off.queries), "queries-off")
		b.ReportMetric(on.preparedUsed/max(on.prepared, 1), "prepared-used-share")
	}
}

// lookupTimes are one half's lookups.
type lookupTimes struct {
	ms, queries            []float64
	prepared, preparedUsed float64 // handshakes, summed over the half's nodes
}

func prepareAheadRun(b *testing.B, bin string, n, rounds int) (on, off lookupTimes) {
	lab := New(b)
	r := lab.DelayRouter("dr", delayBenchMinOneWay, delayBenchMaxOneWay, 0)
	flags := func(i int) []string {
		ahead := "3"
		if i%2 == 1 {
			ahead = "0"
		}
		// Maintenance is slowed so that its pings and refreshes do not keep
		// sessions open between the rounds.
		return []string{"--k", delayBenchK, "--prepare-ahead", ahead, "--log-level", "info",
			"--revalidate-interval", "1h", "--refresh-interval", "1h"}
	}
	nodes := []*Node{r.AddHost("n0").Start(bin, flags(0)...)}
	for i := 1; i < n; i++ {
		nodes = append(nodes, r.AddHost(fmt.Sprintf("n%d", i)).Start(bin, append([]string{"--seed", nodes[0].Seed()}, flags(i)...)...))
	}
	everyNode(b, nodes, maxJoinTime, "every node to join", func(nd *Node) bool {
		s, err := nd.Self()
		return err == nil && s.Joined
	})
	b.ResetTimer()
	for round := range rounds {
		everyNode(b, nodes, delayBenchIdle, "every node to be seen without a session", func(nd *Node) bool {
			return metric(b, nd, "kadnode_sessions_live") == 0
		})
		for i, nd := range nodes {
			res, err := nd.Lookup(randomID(b))
			if err != nil {
				b.Fatalf("round %d, %s: %v", round, nd.Host.Name, err)
			}
			half := &on
			if i%2 == 1 {
				half = &off
			}
			half.ms = append(half.ms, res.Stats.DurationMs)
			half.queries = append(half.queries, float64(res.Stats.Queries))
		}
	}
	b.StopTimer()
	for i, nd := range nodes {
		half := &on
		if i%2 == 1 {
			half = &off
		}
		half.prepared += metric(b, nd, `kadnode_handshakes_prepared_total{used="true"}`) + metric(b, nd, `kadnode_handshakes_prepared_total{used="false"}`)
		half.preparedUsed += metric(b, nd, `kadnode_handshakes_prepared_total{used="true"}`)
	}
	return on, off
}

// everyNode waits until cond has held for every node, each checked until
// it holds once.
func everyNode(b testing.TB, nodes []*Node, d time.Duration, what string, cond func(*Node) bool) {
	seen := make([]bool, len(nodes))
	left := len(nodes)
	WaitFor(b, d, what, func() bool {
		for i, nd := range nodes {
			if !seen[i] && cond(nd) {
				seen[i] = true
				left--
			}
		}
		return left == 0
	})
}

func randomID(b *testing.B) string {
	var id [20]byte
	if _, err := rand.Read(id[:]); err != nil {
		b.Fatal(err)
	}
	return hex.EncodeToString(id[:])
}

// median is the nearest-rank 50th percentile.
func median(xs []float64) float64 { return stats.Percentiles(xs, 50)[0] }

func mean(xs []float64) float64 {
	t := 0.0
	for _, x := range xs {
		t += x
	}
	return t / float64(max(len(xs), 1))
}
