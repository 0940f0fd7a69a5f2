package testnet

import (
	"context"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/kadnode/kadnode/node"
	"github.com/kadnode/kadnode/wire"
)

const (
	// restNodes is the size of the network BenchmarkNodeAtRest builds.
	restNodes = 10
	// restIdleTimeout closes the join's sessions soon, so that the network
	// reaches rest in seconds.
	restIdleTimeout = time.Second
	// restRevalidate is bench-compare's liveness-ping pause: no ping
	// opens a session while the network is measured.
	restRevalidate = time.Minute
)

// BenchmarkNodeAtRest reports what one node holds at rest, in a network
// of restNodes real nodes once every session the join opened was reaped:
// goroutines and heap per node with no session, then the same per idle
// session once every node pinged the next one. Figures are over
// the process's before the network started, so the test binary's own do
// not count.
func BenchmarkNodeAtRest(b *testing.B) {
	for b.Loop() {
		measureRest(b)
	}
}

func measureRest(b *testing.B) {
	b.StopTimer()
	defer b.StartTimer()
	base := restSnapshot()
	dir, err := os.MkdirTemp("", "kadnode-rest-")
	if err != nil {
		b.Fatal(err)
	}
	defer os.RemoveAll(dir)
	net, err := New(Options{Dir: dir,
		Node: func(_ int, c *node.Config) { c.RevalidateInterval = restRevalidate },
		Wire: func(_ int, c *wire.Config) {
			c.IdleTimeout, c.TransientIdleTimeout = restIdleTimeout, restIdleTimeout/2
		}})
	if err != nil {
		b.Fatal(err)
	}
	defer net.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := net.Grow(ctx, restNodes); err != nil {
		b.Fatal(err)
	}
	if err := WaitFor(ctx, func() bool { return net.LiveSessions() == 0 }); err != nil {
		b.Fatalf("the join's sessions were not reaped: %d live: %v", net.LiveSessions(), err)
	}
	rest := restSnapshot()
	nodes := net.Running()
	for i, m := range nodes {
		next := nodes[(i+1)%len(nodes)]
		if _, _, err := m.Node().Ping(ctx, next.Contact()); err != nil {
			b.Fatal(err)
		}
	}
	// Every ping opened a session, and each counts at both of its ends.
	sessions := net.LiveSessions()
	if sessions != 2*len(nodes) {
		b.Fatalf("%d live sessions after %d pings, want %d", sessions, len(nodes), 2*len(nodes))
	}
	reportPer(b, base, rest, float64(len(nodes)), "node")
	reportPer(b, rest, restSnapshot(), float64(sessions), "session")
}

// restSnap is the process's goroutines and live heap. (Goroutine stacks
// are left out: MemStats counts whole stack spans, freed stacks included,
// so its differences do not follow the goroutines.)
type restSnap struct {
	goroutines int
	heap       float64
}

// restSnapshot takes a restSnap. Two GCs empty the sync.Pools (the first
// moves them to their victim caches), which would otherwise count on one
// side of a difference only.
func restSnapshot() restSnap {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return restSnap{runtime.NumGoroutine(), float64(ms.HeapAlloc)}
}

// reportPer reports what to holds over from, divided by n, in units of
// what ("node", "session").
func reportPer(b *testing.B, from, to restSnap, n float64, what string) {
	b.ReportMetric(float64(to.goroutines-from.goroutines)/n, "goroutines/"+what)
	b.ReportMetric((to.heap-from.heap)/n/1024, "heap-KiB/"+what)
}
