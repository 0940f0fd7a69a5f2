package hostile

import (
	"context"
	"errors"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/kadnode/kadnode/kad"
	"github.com/kadnode/kadnode/testnet/stats"
	"github.com/kadnode/kadnode/wire"
)

// loadWindow is how many find_node queries each load client keeps in
// flight: a bounded window, well under the node's per-peer queue.
const loadWindow = 4

// loadHeapSlack is the heap growth that counts as none after a load: GC
// noise. goroutineDescriptorSize is what the runtime keeps for each
// goroutine it ever ran (its descriptor, reused, never freed).
const (
	loadHeapSlack           = 2 << 20
	goroutineDescriptorSize = 512
)

// Many DTLS clients from many addresses send find_node as fast as their
// window allows: nothing fails except for counted drops, and once they
// are gone the node holds no more goroutines or memory than before.
func TestRequestLoad(t *testing.T) {
	clients := size(t, "LOAD_CLIENTS", 20, 500)
	sources := size(t, "LOAD_SOURCES", 5, 50)
	runFor := duration(t, "LOAD_SECONDS", 2*time.Second, 30*time.Second)
	if testing.Short() {
		t.Skip("load test; the full 30 s load runs with make hostile")
	}
	tg := newTarget(t, "", nil, nil)
	heapBefore := liveHeap()
	idle := goleak.IgnoreCurrent()
	before := tg.Transport().Stats()
	kernelBefore := kernelDrops(t, tg.Addr)

	trs := dialClients(t, tg, clients, sources)
	var ok, failed atomic.Int64
	var lastErr atomic.Pointer[error]
	var latMu sync.Mutex
	var lat []time.Duration
	ctx, cancel := context.WithTimeout(context.Background(), runFor)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for _, tr := range trs {
		for range loadWindow {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var mine []time.Duration
				for ctx.Err() == nil {
					began := time.Now()
					_, _, err := tr.Call(context.Background(), tg.Addr, &tg.ID, kad.FindNodeQuery(tr.LocalID(), randomID(), true))
					if err != nil {
						failed.Add(1)
						lastErr.Store(&err)
						continue
					}
					ok.Add(1)
					mine = append(mine, time.Since(began))
				}
				latMu.Lock()
				lat = append(lat, mine...)
				latMu.Unlock()
			}()
		}
	}
	wg.Wait()
	elapsed := time.Since(start)
	peakSessions := tg.Transport().Stats().LiveSessions
	peakGoroutines := runtime.NumGoroutine()
	clientAddrs := make([]netip.AddrPort, len(trs))
	for i, tr := range trs {
		clientAddrs[i] = tr.LocalAddr()
	}
	nodeKernelDrops := kernelDrops(t, tg.Addr) - kernelBefore
	kernelDropped := nodeKernelDrops + kernelDrops(t, clientAddrs...)
	clientDrops := map[string]uint64{}
	for _, tr := range trs {
		for reason, n := range tr.Stats().Dropped {
			if n > 0 {
				clientDrops[reason] += n
			}
		}
		tr.Close()
	}
	clear(trs) // the heap measured below is the node's
	ps := stats.Percentiles(lat, 50, 99)
	p50, p99 := ps[0], ps[1]
	lat = nil
	waitFor(t, "the node to drop the clients' sessions", func() bool { return tg.Transport().Stats().LiveSessions == 0 })
	goleak.VerifyNone(t, idle)
	heapAfter := liveHeap()
	after := tg.Transport().Stats()

	// Kernel drops come from /proc/net/udp for every socket; wire's own
	// count of them (kernel_overflow) is checked below, not added twice.
	drops := kernelDropped
	for reason, n := range after.Dropped {
		if reason != "kernel_overflow" {
			drops += n - before.Dropped[reason]
		}
	}
	for reason, n := range clientDrops {
		if reason != "kernel_overflow" {
			drops += n
		}
	}
	nodeCounted := after.Dropped["kernel_overflow"] - before.Dropped["kernel_overflow"]
	t.Logf("load: %d clients from %d addresses, window %d, %v: %d find_node ok (%.0f/s), %d failed; "+
		"datagrams dropped: %d counted by the transports (node's queue_full %d), %d by the kernel "+
		"(socket receive buffer full; %d of them the node's)",
		clients, sources, loadWindow, runFor, ok.Load(), float64(ok.Load())/elapsed.Seconds(), failed.Load(),
		drops-kernelDropped, after.Dropped["queue_full"]-before.Dropped["queue_full"], kernelDropped, nodeKernelDrops)
	t.Logf("the node's kernel drops: %d in /proc/net/udp, %d counted by wire (kernel_overflow)", nodeKernelDrops, nodeCounted)
	t.Logf("latency p50 %v, p99 %v; sessions at the end of the load %d; datagrams dropped by the clients %v", p50, p99, peakSessions, clientDrops)
	t.Logf("heap before %s, after %s (%s); goroutines %d at the end of the load, none left beyond those before it",
		mib(heapBefore), mib(heapAfter), signedMiB(heapAfter, heapBefore), peakGoroutines)

	if n := failed.Load(); n > 0 && uint64(n) > drops {
		t.Errorf("%d calls failed with only %d drops counted; last: %v", n, drops, *lastErr.Load())
	}
	// The kernel reports its count on the datagrams that arrive after a
	// drop, so wire's count can only lag /proc's; the clients' close_notify
	// datagrams, read above, carry it to the node.
	if nodeKernelDrops > 0 && nodeCounted == 0 {
		t.Errorf("the kernel dropped %d of the node's datagrams and wire counted none", nodeKernelDrops)
	}
	if now := kernelDrops(t, tg.Addr) - kernelBefore; nodeCounted > now {
		t.Errorf("wire counted %d kernel drops, more than the %d in /proc/net/udp", nodeCounted, now)
	}
	if ok.Load() == 0 {
		t.Error("no call completed")
	}
	// The runtime keeps every goroutine descriptor it ever made for reuse;
	// that is not the node's memory.
	if slack := uint64(loadHeapSlack + peakGoroutines*goroutineDescriptorSize); heapAfter > heapBefore+slack {
		t.Errorf("heap grew from %s to %s over the load, more than %s", mib(heapBefore), mib(heapAfter), mib(slack))
	}
}

// dialClients opens n client transports, spread over sources addresses,
// each with a session to the target. The handshakes go in batches the
// node's pending-handshake cap admits.
func dialClients(t *testing.T, tg *target, n, sources int) []*wire.Transport {
	t.Helper()
	trs := make([]*wire.Transport, n)
	errs := make([]error, n)
	const batch = wire.DefaultMaxPendingHandshakes / 2
	for first := 0; first < n; first += batch {
		var wg sync.WaitGroup
		for i := first; i < min(first+batch, n); i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				id, err := wire.NewIdentity()
				if err != nil {
					errs[i] = err
					return
				}
				tr, err := wire.Listen(wire.Config{
					Identity: id, Network: networkName, RPCTimeout: patientRPCTimeout,
					Listen: netip.AddrPortFrom(hostIP(blockLoad, i%sources), 0).String(),
				})
				if err != nil {
					errs[i] = err
					return
				}
				trs[i] = tr
				_, _, errs[i] = tr.Call(testCtx(t), tg.Addr, &tg.ID, kad.PingQuery(id.ID, true))
			}()
		}
		wg.Wait()
	}
	t.Cleanup(func() {
		for _, tr := range trs {
			if tr != nil {
				tr.Close()
			}
		}
	})
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("opening the clients' sessions: %v", err)
	}
	return trs
}
