package testnet

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anacrolix/dht/v2/krpc"

	"github.com/kadnode/kadnode/kad"
	"github.com/kadnode/kadnode/node"
	"github.com/kadnode/kadnode/testnet/stats"
	"github.com/kadnode/kadnode/wire"
)

// Benchmark networks are built once per process and size, since a
// 1,000-node network takes minutes to join; TestMain closes them.
var (
	benchNetsMu sync.Mutex
	benchNets   = map[int]*Network{}
	benchDirs   []string
)

const (
	// benchJoinParallel is how many nodes join a benchmark network at once.
	benchJoinParallel = 8
	// benchIdleTimeout closes idle DTLS sessions a little sooner than the
	// 30 s default: each holds about 37 KB and 4 goroutines, and a network
	// that takes minutes to join would otherwise keep every session its
	// joins opened.
	benchIdleTimeout = 20 * time.Second
)

// benchNetwork returns the shared network of size nodes, building it on
// first use (outside the timer).
func benchNetwork(b *testing.B, size int) *Network {
	b.Helper()
	benchNetsMu.Lock()
	defer benchNetsMu.Unlock()
	if n := benchNets[size]; n != nil {
		return n
	}
	b.StopTimer()
	defer b.StartTimer()
	dir, err := os.MkdirTemp("", "kadnode-bench-")
	if err != nil {
		b.Fatal(err)
	}
	benchDirs = append(benchDirs, dir)
	n, err := New(Options{Dir: dir, Seed: uint64(size),
		Wire: func(i int, c *wire.Config) { c.IdleTimeout = benchIdleTimeout }})
	if err != nil {
		b.Fatal(err)
	}
	benchNets[size] = n
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	if err := n.GrowConcurrently(ctx, size, benchJoinParallel); err != nil {
		b.Fatal(err)
	}
	b.Logf("%d nodes joined in %v", size, time.Since(start).Round(time.Millisecond))
	return n
}

// closeBenchNetworks stops every benchmark network and removes its data.
func closeBenchNetworks() {
	benchNetsMu.Lock()
	defer benchNetsMu.Unlock()
	for size, n := range benchNets {
		_ = n.Close()
		delete(benchNets, size)
	}
	for _, d := range benchDirs {
		_ = os.RemoveAll(d)
	}
	benchDirs = nil
}

// lookupSample records lookups for percentiles.
type lookupSample struct {
	durations []time.Duration
	queries   int
	found     int
}

func (s *lookupSample) add(res node.LookupResult) {
	s.durations = append(s.durations, res.Stats.Duration)
	s.queries += res.Stats.Queries
	if res.Found {
		s.found++
	}
}

// report sets the sample's percentiles and averages as benchmark metrics.
func (s *lookupSample) report(b *testing.B) {
	if len(s.durations) == 0 {
		return
	}
	ps := stats.Percentiles(s.durations, 50, 90, 99)
	b.ReportMetric(ms(ps[0]), "p50-ms")
	b.ReportMetric(ms(ps[1]), "p90-ms")
	b.ReportMetric(ms(ps[2]), "p99-ms")
	n := float64(len(s.durations))
	b.ReportMetric(float64(s.queries)/n, "queries/lookup")
	b.ReportMetric(100*float64(s.found)/n, "found-%")
}

// ms is d in milliseconds, to the microsecond.
func ms(d time.Duration) float64 {
	return float64(d.Microseconds()) / 1000
}

// BenchmarkLookup measures lookups of random existing nodes.
//
// warm: from a member whose sessions with the nodes on the way are
// established (the same lookup ran just before, untimed).
//
// cold: from a node that has a full routing table (a copy of a member's,
// as after a restart) but no session with anyone yet, so every query
// includes a DTLS handshake.
func BenchmarkLookup(b *testing.B) {
	for _, size := range benchSizes() {
		b.Run(fmt.Sprintf("nodes=%d/warm", size), func(b *testing.B) {
			net := benchNetwork(b, size)
			nodes := net.Running()
			r := rand.New(rand.NewPCG(1, uint64(size)))
			var s lookupSample
			for b.Loop() {
				from, to := pickPair(r, nodes)
				b.StopTimer()
				benchLookup(b, from.Node(), to.ID) // warms the sessions
				b.StartTimer()
				s.add(benchLookup(b, from.Node(), to.ID))
			}
			s.report(b)
		})
		b.Run(fmt.Sprintf("nodes=%d/cold", size), func(b *testing.B) {
			net := benchNetwork(b, size)
			nodes := net.Running()
			r := rand.New(rand.NewPCG(2, uint64(size)))
			var s lookupSample
			for b.Loop() {
				b.StopTimer()
				from, to := pickPair(r, nodes)
				cold, closeCold := coldNode(b, from)
				b.StartTimer()
				s.add(benchLookup(b, cold, to.ID))
				b.StopTimer()
				closeCold()
				b.StartTimer()
			}
			s.report(b)
		})
	}
}

// pickPair picks two distinct nodes.
func pickPair(r *rand.Rand, nodes []*Node) (from, to *Node) {
	i := r.IntN(len(nodes))
	j := (i + 1 + r.IntN(len(nodes)-1)) % len(nodes)
	return nodes[i], nodes[j]
}

// coldNode makes a read-only node with a fresh identity and socket whose
// table is a copy of m's.
func coldNode(b *testing.B, m *Node) (*node.Node, func()) {
	b.Helper()
	_, tr := listenOutside(b, 4000)
	cs, err := m.Store().Load()
	if err != nil {
		b.Fatal(err)
	}
	nd, err := node.New(node.Config{ReadOnly: true}, tr, tableCopy(cs))
	if err != nil {
		b.Fatal(err)
	}
	return nd, func() {
		nd.Close()
		tr.Close()
	}
}

// tableCopy is a read-only Store holding contacts.
type tableCopy []kad.Contact

func (t tableCopy) Load() ([]kad.Contact, error) { return t, nil }
func (tableCopy) Put(kad.Contact) error          { return nil }
func (tableCopy) Delete(krpc.ID) error           { return nil }
func (tableCopy) Touch(kad.Contact) error        { return nil }

func benchLookup(b *testing.B, from *node.Node, target krpc.ID) node.LookupResult {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := from.Lookup(ctx, target)
	if err != nil {
		// Error, not Fatal: BenchmarkFindable calls this from workers.
		b.Error(err)
		return node.LookupResult{}
	}
	return res
}

// BenchmarkFindable measures how long a new node takes from start to
// the end of its join, after which every other node must find it: the
// found-% metric is the share of them that did, at once.
func BenchmarkFindable(b *testing.B) {
	for _, size := range benchSizes() {
		b.Run(fmt.Sprintf("nodes=%d", size), func(b *testing.B) {
			net := benchNetwork(b, size)
			var joins []time.Duration
			var found atomic.Int64
			asked := 0
			for b.Loop() {
				seed := net.randomRunning()
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				start := time.Now()
				m, err := net.Add(ctx, seed.Contact())
				cancel()
				if err != nil {
					b.Fatal(err)
				}
				joins = append(joins, time.Since(start))
				b.StopTimer()
				others := slices.DeleteFunc(net.Running(), func(o *Node) bool { return o == m })
				forEachOn(benchJoinParallel, len(others), func(i int) {
					if res := benchLookup(b, others[i].Node(), m.ID); res.Found && res.Addr == m.Addr {
						found.Add(1)
					}
				})
				asked += len(others)
				b.StartTimer()
			}
			b.ReportMetric(ms(stats.Percentiles(joins, 50)[0]), "join-p50-ms")
			b.ReportMetric(100*float64(found.Load())/float64(max(asked, 1)), "found-%")
		})
	}
}

// BenchmarkMemoryPerNode reports the heap, process RSS, goroutines and
// DTLS sessions per node of a benchmark network (built once, so b.N does
// not matter): "busy" right after the other benchmarks, "settled" once
// sessions idle for benchIdleTimeout have been closed.
func BenchmarkMemoryPerNode(b *testing.B) {
	for _, size := range benchSizes() {
		for _, state := range []string{"busy", "settled"} {
			b.Run(fmt.Sprintf("nodes=%d/%s", size, state), func(b *testing.B) {
				net := benchNetwork(b, size)
				for b.Loop() {
				}
				if state == "settled" {
					time.Sleep(benchIdleTimeout + 5*time.Second) // a measurement protocol, not a wait for a condition
				}
				reportMemory(b, net)
			})
		}
	}
}

// reportMemory divides the process's heap, RSS and goroutines by the nodes
// of every benchmark network it holds (the earlier sizes stay open until
// TestMain ends), and net's live sessions by net's nodes.
func reportMemory(b *testing.B, net *Network) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	all := 0
	benchNetsMu.Lock()
	for _, other := range benchNets {
		all += len(other.Running())
	}
	benchNetsMu.Unlock()
	n := float64(all)
	b.ReportMetric(float64(ms.HeapInuse)/n/1024, "heap-KiB/node")
	b.ReportMetric(float64(stats.ResidentSet())/n/1024, "rss-KiB/node")
	b.ReportMetric(float64(runtime.NumGoroutine())/n, "goroutines/node")
	b.ReportMetric(float64(net.LiveSessions())/float64(len(net.Running())), "sessions/node")
}

// benchSizes are the network sizes to benchmark: KADNODE_BENCH_SIZES
// (comma-separated) or 200 and 1,000.
func benchSizes() []int {
	env := os.Getenv("KADNODE_BENCH_SIZES")
	if env == "" {
		return []int{200, 1000}
	}
	var out []int
	for _, f := range strings.Split(env, ",") {
		if n, err := strconv.Atoi(strings.TrimSpace(f)); err == nil && n > 1 {
			out = append(out, n)
		}
	}
	return out
}
