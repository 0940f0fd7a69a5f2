package hostile

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kadnode/kadnode/internal/race"
	"github.com/kadnode/kadnode/kad"
	"github.com/kadnode/kadnode/testnet/stats"
	"github.com/kadnode/kadnode/wire"
)

// envPing, set to "<contact> <source IP>", makes the test binary a fresh
// client: a new identity on a new socket at the source IP, one read-only
// ping to the contact, exit status 0 when it was answered.
const envPing = EnvPrefix + "PING"

// runPing is the fresh client of envPing.
func runPing(spec string) error {
	contact, src, ok := strings.Cut(spec, " ")
	if !ok {
		return fmt.Errorf("%s=%q: want a contact and a source IP", envPing, spec)
	}
	c, err := kad.ParseEndpoint(contact)
	if err != nil {
		return err
	}
	to, err := c.Resolve(context.Background())
	if err != nil {
		return err
	}
	id, err := wire.NewIdentity()
	if err != nil {
		return err
	}
	tr, err := wire.Listen(wire.Config{Identity: id, Network: networkName, Listen: src + ":0", RPCTimeout: patientRPCTimeout})
	if err != nil {
		return err
	}
	defer tr.Close()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	// Read-only (BEP 43): the node does not insert the client, so it never
	// dials it after the process has gone, and every handshake it counts
	// is an inbound one.
	_, _, err = tr.Call(ctx, to, &c.ID, kad.PingQuery(id.ID, true))
	return err
}

// spoofSample is one look at the target during the spoof flood test.
type spoofSample struct {
	goroutines int
	rss        uint64
	heap       uint64 // live heap as of the last GC cycle
	pending    int
}

// A flood of ClientHellos from spoofed sources all over 127/8, sent with a
// raw socket inside a namespace of the test's own (the node's cookies go
// to addresses nobody else uses), costs the node nothing it keeps: no
// handshake starts for a spoofed source, goroutines and RSS (the live heap
// under -race) stay within 10% of what they were under the same
// legitimate load before the flood, and at least 99% of fresh clients
// (processes of their own, new key, new address) complete a handshake and
// a ping during the flood.
func TestSpoofedHelloFlood(t *testing.T) {
	rate := size(t, "SPOOF_RATE", 1000, 2000) // ClientHellos per second
	floodFor := duration(t, "SPOOF_SECONDS", 3*time.Second, 20*time.Second)
	baseFor := duration(t, "SPOOF_BASELINE_SECONDS", 3*time.Second, 10*time.Second)
	const freshLoops = 4 // fresh clients in flight at once
	ns := newNetns(t)
	var tg *target
	var steady *peer
	var raw *rawUDP
	ns.do(t, func() {
		tg = newTarget(t, "", nil, nil)
		steady = newPeer(t, hostIP(blockLegit, 0), nil, tg.Contact())
		raw = openRawUDP(t)
	})
	if err := steady.nd.WaitJoined(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	hello := clientHello(t, rogueConfig(mustIdentity(t), networkName, true))

	var mu sync.Mutex
	var samples []spoofSample
	flooding := false
	var base, during []spoofSample
	freshOK, freshFailed := map[bool]int{}, map[bool]int{}
	var lastFreshErr string
	steadyFailed, steadyOK := 0, 0
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the sampler
		defer wg.Done()
		tick := time.NewTicker(sampleInterval)
		defer tick.Stop()
		for !isClosed(stop) {
			s := spoofSample{runtime.NumGoroutine(), stats.ResidentSet(), gcLiveHeap(), tg.Transport().Stats().PendingHandshakes}
			mu.Lock()
			if flooding {
				during = append(during, s)
			} else {
				base = append(base, s)
			}
			samples = append(samples, s)
			mu.Unlock()
			select {
			case <-stop:
			case <-tick.C:
			}
		}
	}()
	wg.Add(1)
	go func() { // a peer with an established session
		defer wg.Done()
		for !isClosed(stop) {
			_, _, err := steady.tr.Call(context.Background(), tg.Addr, &tg.ID, kad.FindNodeQuery(steady.tr.LocalID(), randomID(), false))
			mu.Lock()
			if err != nil {
				steadyFailed++
			} else {
				steadyOK++
			}
			mu.Unlock()
		}
	}()
	for i := range freshLoops { // fresh clients, one process each
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !isClosed(stop) {
				cmd := ns.command(os.Args[0], "-test.run=^$")
				cmd.Env = append(os.Environ(), envPing+"="+tg.Contact().String()+" "+hostIP(blockLegit, 1+i).String())
				out, err := cmd.CombinedOutput()
				mu.Lock()
				if err != nil {
					freshFailed[flooding]++
					lastFreshErr = fmt.Sprintf("%v: %s", err, out)
				} else {
					freshOK[flooding]++
				}
				mu.Unlock()
			}
		}()
	}

	time.Sleep(baseFor) // the baseline: the same legitimate load, no flood
	before := tg.Transport().Stats()
	mu.Lock()
	flooding = true
	mu.Unlock()
	sent, sendErrs := spoofFlood(raw, tg.Addr, hello, rate, floodFor)
	close(stop)
	wg.Wait()
	after := tg.Transport().Stats()

	delta := func(outcome string) uint64 { return after.Handshakes[outcome] - before.Handshakes[outcome] }
	med := func(s []spoofSample, f func(spoofSample) float64) float64 {
		v := make([]float64, len(s))
		for i := range s {
			v[i] = f(s[i])
		}
		slices.Sort(v)
		if len(v) == 0 {
			return 0
		}
		return v[len(v)/2]
	}
	gor := func(s spoofSample) float64 { return float64(s.goroutines) }
	rss := func(s spoofSample) float64 { return float64(s.rss) }
	heap := func(s spoofSample) float64 { return float64(s.heap) }
	maxPending := 0
	for _, s := range during {
		maxPending = max(maxPending, s.pending)
	}
	freshRate := 100 * float64(freshOK[true]) / float64(max(1, freshOK[true]+freshFailed[true]))
	t.Logf("spoofed flood: %d ClientHellos (%d send errors) at %d/s for %v from random 127/8 sources; %d answered with a cookie",
		sent, sendErrs, rate, floodFor, delta("cookie_sent"))
	t.Logf("handshakes during the flood: %d ok, %d timed out, %d failed, %d limited; pending max %d (%d fresh clients at once)",
		delta("ok"), delta("timeout"), delta("failed"), delta("limited"), maxPending, freshLoops)
	t.Logf("goroutines median %.0f before, %.0f during; RSS median %s before, %s during; live heap median %s before, %s during",
		med(base, gor), med(during, gor), mib(uint64(med(base, rss))), mib(uint64(med(during, rss))),
		mib(uint64(med(base, heap))), mib(uint64(med(during, heap))))
	t.Logf("fresh clients (a process each): before the flood %d ok, %d failed; during %d ok, %d failed (%.1f%%); last error: %s",
		freshOK[false], freshFailed[false], freshOK[true], freshFailed[true], freshRate, lastFreshErr)
	t.Logf("calls over an established session: %d ok, %d failed", steadyOK, steadyFailed)

	if delta("cookie_sent") == 0 {
		t.Error("no spoofed hello was answered with a cookie")
	}
	// A spoofed source never answers, so a handshake started for one
	// could only time out.
	if n := delta("timeout"); n != 0 {
		t.Errorf("%d handshakes timed out during the flood: spoofed hellos started handshakes", n)
	}
	if maxPending > freshLoops {
		t.Errorf("pending handshakes reached %d with %d fresh clients at most in flight", maxPending, freshLoops)
	}
	if freshOK[true] == 0 || freshRate < 99 {
		t.Errorf("fresh clients during the flood: %d ok, %d failed (%.1f%%), want at least 99%%; last error: %s",
			freshOK[true], freshFailed[true], freshRate, lastFreshErr)
	}
	if steadyFailed > 0 || steadyOK == 0 {
		t.Errorf("calls over an established session: %d ok, %d failed", steadyOK, steadyFailed)
	}
	if g0, g1 := med(base, gor), med(during, gor); g1 > 1.1*g0 {
		t.Errorf("goroutines grew from a median of %.0f to %.0f during the flood (over 10%%)", g0, g1)
	}
	// Under the race detector RSS is mostly shadow memory, which grows
	// with every page the heap has ever touched and is never given back,
	// and the process holds what earlier tests left: it says nothing of
	// what the flood costs. The live heap is what the node keeps.
	if race.Enabled {
		if h0, h1 := med(base, heap), med(during, heap); h1 > 1.1*h0 {
			t.Errorf("live heap grew from a median of %s to %s during the flood (over 10%%)", mib(uint64(h0)), mib(uint64(h1)))
		}
	} else if r0, r1 := med(base, rss), med(during, rss); r1 > 1.1*r0 {
		t.Errorf("RSS grew from a median of %s to %s during the flood (over 10%%)", mib(uint64(r0)), mib(uint64(r1)))
	}
}

// spoofFlood sends rate ClientHellos a second for d through raw, each
// with a fresh random from a random source in 127/8 outside the blocks
// the tests use (127.0/16 and the harness's 127.1/16). It returns how many
// went out and how many sends failed.
func spoofFlood(raw *rawUDP, to netip.AddrPort, hello []byte, rate int, d time.Duration) (sent, errs int) {
	const tick = 10 * time.Millisecond
	perTick := max(1, rate*int(tick)/int(time.Second))
	total := rate * int(d/time.Second)
	ticker := time.NewTicker(tick)
	defer ticker.Stop()
	var r [32 + 5]byte
	for sent+errs < total {
		for range min(perTick, total-sent-errs) {
			rand.Read(r[:])
			port := uint16(r[35])<<8 | uint16(r[36])
			if port < 1024 {
				port += 1024
			}
			src := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 2 + r[32]%250, r[33], r[34]}), port)
			var random [32]byte
			copy(random[:], r[:32])
			if raw.send(src, to, withRandom(hello, random)) != nil {
				errs++
			} else {
				sent++
			}
		}
		<-ticker.C
	}
	return sent, errs
}
