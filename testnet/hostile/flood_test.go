package hostile

import (
	"context"
	"crypto/rand"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kadnode/kadnode/kad"
	"github.com/kadnode/kadnode/testnet/stats"
	"github.com/kadnode/kadnode/wire"
)

// callLog collects the outcomes of a legitimate peer's calls.
type callLog struct {
	mu        sync.Mutex
	latencies []time.Duration // of the calls that succeeded
	failures  int
	lastErr   error
}

func (l *callLog) add(d time.Duration, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		l.failures++
		l.lastErr = err
		return
	}
	l.latencies = append(l.latencies, d)
}

func (l *callLog) summary() (ok, failed int, p50, p99 time.Duration, lastErr error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ps := stats.Percentiles(l.latencies, 50, 99)
	return len(l.latencies), l.failures, ps[0], ps[1], l.lastErr
}

func (l *callLog) successRate() float64 {
	ok, failed, _, _, _ := l.summary()
	if ok+failed == 0 {
		return 0
	}
	return 100 * float64(ok) / float64(ok+failed)
}

// floodSample is what the sampler saw at its worst.
type floodSample struct {
	maxPending    int
	peakHeap      uint64
	peakGoroutine int
}

// sample records the worst pending count, heap and goroutine count until
// stop closes.
func sample(tr *wire.Transport, stop <-chan struct{}) *floodSample {
	s := &floodSample{}
	tick := time.NewTicker(sampleInterval)
	defer tick.Stop()
	for {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		s.peakHeap = max(s.peakHeap, ms.HeapAlloc)
		s.maxPending = max(s.maxPending, tr.Stats().PendingHandshakes)
		s.peakGoroutine = max(s.peakGoroutine, runtime.NumGoroutine())
		select {
		case <-stop:
			return s
		case <-tick.C:
		}
	}
}

// flood sends hellos ClientHellos, each with a fresh random from a fresh
// port, from sources addresses, paced evenly over d; none of them goes on
// after its cookie. It returns how many were sent.
func flood(ctx context.Context, t *testing.T, to netip.AddrPort, hello []byte, sources, hellos int, d time.Duration) int {
	var sent atomic.Int64
	var wg sync.WaitGroup
	perSource := hellos / sources
	interval := d / time.Duration(perSource)
	for s := range sources {
		ip := hostIP(blockFlood, s)
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(interval)
			defer tick.Stop()
			for range perSource {
				var random [32]byte
				rand.Read(random[:])
				c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, 0)))
				if err != nil {
					t.Errorf("flood source %s: %v", ip, err)
					return
				}
				_, err = c.WriteToUDPAddrPort(withRandom(hello, random), to)
				c.Close()
				if err == nil {
					sent.Add(1)
				}
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
			}
		}()
	}
	wg.Wait()
	return int(sent.Load())
}

// A flood of ClientHellos that never get past the cookie, from many
// addresses, while legitimate peers keep calling: the mux answers each
// with a cookie and keeps nothing, pending handshakes stay within the cap,
// calls over an established session all succeed, memory stays
// bounded, and everything is released once the half-open handshakes
// expire. How new legitimate handshakes fare during the flood is
// reported.
func TestHandshakeFlood(t *testing.T) {
	hellos := size(t, "FLOOD_HELLOS", 2000, 10000)
	sources := size(t, "FLOOD_SOURCES", 40, 200)
	spread := duration(t, "FLOOD_SECONDS", 2*time.Second, 10*time.Second)
	const pendingCap = wire.DefaultMaxPendingHandshakes
	tg := newTarget(t, "", nil, func(c *wire.Config) {
		c.HandshakeTimeout = shortHandshakeTimeout
		c.MaxPendingHandshakes = pendingCap
	})
	hello := clientHello(t, rogueConfig(mustIdentity(t), networkName, true))
	steady := newPeer(t, hostIP(blockLegit, 0), nil, tg.Contact())
	if err := steady.nd.WaitJoined(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	call := func(tr *wire.Transport) error {
		_, _, err := tr.Call(context.Background(), tg.Addr, &tg.ID, kad.FindNodeQuery(tr.LocalID(), randomID(), false))
		return err
	}
	if err := call(steady.tr); err != nil {
		t.Fatal(err)
	}
	goroutinesBefore, heapBefore := runtime.NumGoroutine(), liveHeap()
	before := tg.Transport().Stats()
	kernelBefore := kernelDrops(t, tg.Addr)

	ctx, cancel := context.WithTimeout(context.Background(), spread+waitTimeout)
	defer cancel()
	stopSampling, stopCallers := make(chan struct{}), make(chan struct{})
	sampled := make(chan *floodSample, 1)
	go func() { sampled <- sample(tg.Transport(), stopSampling) }()
	var steadyLog, freshLog callLog
	var callers sync.WaitGroup
	callers.Add(1)
	go func() { // one peer with an established session calls all along
		defer callers.Done()
		for !isClosed(stopCallers) {
			start := time.Now()
			err := call(steady.tr)
			steadyLog.add(time.Since(start), err)
		}
	}()
	const freshCallers = 4
	for i := range freshCallers { // and others open a new session for every call
		callers.Add(1)
		go func() {
			defer callers.Done()
			for !isClosed(stopCallers) {
				start := time.Now()
				err := freshCall(hostIP(blockLegit, 1+i), call)
				freshLog.add(time.Since(start), err)
			}
		}()
	}
	sent := flood(ctx, t, tg.Addr, hello, sources, hellos, spread)
	close(stopCallers)
	callers.Wait()
	// Every hello is accounted for once it was refused, expired or lost in
	// the kernel; the read loop may still be working through the last ones.
	accounted := func(st wire.Stats) uint64 {
		n := kernelDrops(t, tg.Addr) - kernelBefore
		for _, outcome := range []string{"cookie_sent", "limited", "timeout", "replaced", "failed"} {
			n += st.Handshakes[outcome] - before.Handshakes[outcome]
		}
		return n
	}
	waitFor(t, "every hello to be refused or expire", func() bool {
		st := tg.Transport().Stats()
		return st.PendingHandshakes == 0 && accounted(st) >= uint64(sent)
	})
	close(stopSampling)
	peak := <-sampled
	waitFor(t, "the flood's goroutines to end", func() bool { return runtime.NumGoroutine() <= goroutinesBefore })
	heapAfter := liveHeap()
	after := tg.Transport().Stats()
	kernelDropped := kernelDrops(t, tg.Addr) - kernelBefore

	okSteady, failedSteady, p50, p99, lastErr := steadyLog.summary()
	okFresh, failedFresh, p50Fresh, p99Fresh, lastFreshErr := freshLog.summary()
	delta := func(outcome string) uint64 { return after.Handshakes[outcome] - before.Handshakes[outcome] }
	t.Logf("flood: %d ClientHellos from %d addresses over %v; handshake timeout %v, pending cap %d",
		sent, sources, spread, shortHandshakeTimeout, pendingCap)
	t.Logf("handshakes during the flood: %d answered with a cookie only, %d limited, %d timed out, %d ok, %d failed, %d replaced; "+
		"%d datagrams dropped by the kernel (the node's socket receive buffer full), %v by the node",
		delta("cookie_sent"), delta("limited"), delta("timeout"), delta("ok"), delta("failed"), delta("replaced"), kernelDropped, droppedSince(before, after))
	t.Logf("pending handshakes: max %d (cap %d); peak heap %s (%s over before); peak goroutines %d (before %d)",
		peak.maxPending, pendingCap, mib(peak.peakHeap), signedMiB(peak.peakHeap, heapBefore), peak.peakGoroutine, goroutinesBefore)
	t.Logf("after expiry: heap %s (%s), goroutines back to %d or fewer", mib(heapAfter), signedMiB(heapAfter, heapBefore), goroutinesBefore)
	t.Logf("calls over an established session: %d ok, %d failed (%.1f%%), p50 %v, p99 %v",
		okSteady, failedSteady, steadyLog.successRate(), p50, p99)
	t.Logf("calls that open a new session: %d ok, %d failed (%.1f%%), p50 %v, p99 %v; last error: %v",
		okFresh, failedFresh, freshLog.successRate(), p50Fresh, p99Fresh, lastFreshErr)

	if peak.maxPending > pendingCap {
		t.Errorf("pending handshakes reached %d, over the cap of %d", peak.maxPending, pendingCap)
	}
	if failedSteady > 0 {
		t.Errorf("%d of %d calls over an established session failed during the flood; last: %v", failedSteady, okSteady+failedSteady, lastErr)
	}
	if okSteady == 0 {
		t.Error("no call over the established session completed during the flood")
	}
	// Half-open handshakes may hold pendingCap × ~36 KB; a leak per hello
	// would be hellos × that.
	if grown := int64(peak.peakHeap) - int64(heapBefore); grown > pendingCap<<20 {
		t.Errorf("heap grew by %s during the flood, more than 1 MiB per pending handshake", mib(uint64(grown)))
	}
	if err := freshCall(hostIP(blockLegit, 1), call); err != nil {
		t.Errorf("a new session after the flood: %v", err)
	}
}

// droppedSince returns the drop counters that moved from before to after.
func droppedSince(before, after wire.Stats) map[string]uint64 {
	out := map[string]uint64{}
	for reason, n := range after.Dropped {
		if d := n - before.Dropped[reason]; d > 0 {
			out[reason] = d
		}
	}
	return out
}

// freshCall makes one call over a new transport at ip, closed after it.
func freshCall(ip netip.Addr, call func(*wire.Transport) error) error {
	id, err := wire.NewIdentity()
	if err != nil {
		return err
	}
	tr, err := wire.Listen(wire.Config{Identity: id, Network: networkName, Listen: netip.AddrPortFrom(ip, 0).String(), RPCTimeout: patientRPCTimeout})
	if err != nil {
		return err
	}
	defer tr.Close()
	return call(tr)
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

func mustIdentity(t testing.TB) *wire.Identity {
	t.Helper()
	id, err := wire.NewIdentity()
	if err != nil {
		t.Fatal(err)
	}
	return id
}
