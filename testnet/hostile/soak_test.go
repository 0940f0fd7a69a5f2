package hostile

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"sync"
	"testing"
	"time"

	"github.com/kadnode/kadnode/testnet"
	"github.com/kadnode/kadnode/testnet/stats"
)

// soakSetupTimeout bounds building the network and its final rejoin.
const soakSetupTimeout = 15 * time.Minute

// soakLookupWorkers is how many lookups run at once during the soak.
const soakLookupWorkers = 2

// soakWindow is the span over which the soak reports (and checks) the
// lookup success rate.
const soakWindow = time.Minute

// minSoakSuccess is the lookup success rate, in percent, the soak must
// keep in every window.
const minSoakSuccess = 99.0

// churn tracks which nodes are up and how often each was restarted, so a
// lookup counts only when its source and target were up throughout.
type churn struct {
	mu    sync.Mutex
	down  map[int]bool
	epoch map[int]int
}

func (c *churn) up(i int) (epoch int, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.epoch[i], !c.down[i]
}

func (c *churn) setDown(i int, down bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.down[i] = down
	if !down {
		c.epoch[i]++
	}
}

// soakWindowCount is the lookups of one window.
type soakWindowCount struct{ ok, failed int }

func (w soakWindowCount) rate() float64 { return 100 * float64(w.ok) / float64(max(w.ok+w.failed, 1)) }

// A network under churn: every restart interval a share of the nodes
// are killed (the harness's Kill: socket, loops and store closed at once;
// the transport still sends close_notify on its sessions, so this is not
// a crash as far as peers' DTLS sessions go, see
// TestCrashRestartedPeerReachable) and come back on the same address and
// data dir, rejoining through their stored contacts. Lookups of nodes that are up keep succeeding, and the
// process's memory after the soak is where it was before.
func TestSoak(t *testing.T) {
	long(t)
	nodes := size(t, "SOAK_NODES", 100, 100)
	runFor := duration(t, "SOAK_SECONDS", 5*time.Minute, 5*time.Minute)
	interval := duration(t, "SOAK_INTERVAL_SECONDS", 10*time.Second, 10*time.Second)
	restartShare := size(t, "SOAK_RESTART_PERCENT", 5, 5)
	// Lookups run this long before the churn starts and memory is
	// measured.
	soakWarmUp := duration(t, "SOAK_WARMUP_SECONDS", time.Minute, time.Minute)
	perRound := max(nodes*restartShare/100, 1)

	n, err := testnet.New(testnet.Options{Dir: t.TempDir(), Network: networkName, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := n.Close(); err != nil {
			t.Error(err)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), soakWarmUp+runFor+soakSetupTimeout)
	defer cancel()
	if err := n.Grow(ctx, nodes); err != nil {
		t.Fatal(err)
	}
	all := n.Nodes()

	// Lookups run from here to the end. The first soakWarmUp is not
	// counted: it brings the sessions between nodes (most of the memory)
	// to the level the lookups keep them at, so that before and after
	// compare the same workload, with and without churn behind it.
	ch := &churn{down: map[int]bool{}, epoch: map[int]int{}}
	var (
		mu       sync.Mutex
		counting bool
		start    time.Time
		windows  = make([]soakWindowCount, int(runFor/soakWindow)+1)
		failures []string
	)
	lookupsCtx, stopLookups := context.WithTimeout(context.Background(), soakWarmUp+runFor+soakSetupTimeout)
	defer stopLookups()
	var wg sync.WaitGroup
	for w := range soakLookupWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 2))
			for lookupsCtx.Err() == nil {
				ok, counted, why := soakLookup(lookupsCtx, all, ch, rng)
				mu.Lock()
				if counted && counting {
					win := &windows[min(int(time.Since(start)/soakWindow), len(windows)-1)]
					if ok {
						win.ok++
					} else {
						win.failed++
						failures = append(failures, why)
					}
				}
				mu.Unlock()
			}
		}()
	}
	waitOrFail := func(d time.Duration) {
		select {
		case <-time.After(d):
		case <-ctx.Done():
			t.Fatal("the soak ran out of time")
		}
	}
	waitOrFail(soakWarmUp)
	heapBefore, rssBefore, sessionsBefore := liveHeap(), residentSet(), n.LiveSessions()

	mu.Lock()
	counting, start = true, time.Now()
	mu.Unlock()
	rng := rand.New(rand.NewPCG(3, 4))
	restarts := 0
	for round := 0; round < int(runFor/interval); round++ {
		waitOrFail(interval)
		for _, i := range rng.Perm(nodes)[:perRound] {
			m := all[i]
			ch.setDown(i, true)
			if err := m.Kill(); err != nil {
				t.Errorf("killing node %d: %v", i, err)
			}
			if err := m.Restart(ctx); err != nil {
				t.Fatalf("restarting node %d: %v", i, err)
			}
			ch.setDown(i, false)
			restarts++
		}
	}
	mu.Lock()
	counting = false
	mu.Unlock()
	for _, m := range all {
		if err := m.WaitJoined(ctx); err != nil {
			t.Fatal(err)
		}
	}
	heapAfter, rssAfter, sessionsAfter := liveHeap(), residentSet(), n.LiveSessions()
	stopLookups()
	wg.Wait()

	total := soakWindowCount{}
	for i, w := range windows {
		if w.ok+w.failed == 0 {
			continue
		}
		total.ok += w.ok
		total.failed += w.failed
		t.Logf("minute %d: %d lookups, %.2f%% found", i+1, w.ok+w.failed, w.rate())
		if w.rate() < minSoakSuccess {
			t.Errorf("minute %d: lookup success %.2f%%, below %.0f%%", i+1, w.rate(), minSoakSuccess)
		}
	}
	for _, f := range failures[:min(len(failures), 10)] {
		t.Logf("failed lookup: %s", f)
	}
	t.Logf("soak: %d nodes, %d killed and restarted on the same address and data dir every %v for %v: %d restarts; "+
		"%d lookups, %.2f%% found", nodes, perRound, interval, runFor, restarts, total.ok+total.failed, total.rate())
	t.Logf("memory under the same lookups, before and after the churn: live heap %s, %s (%+.1f%%); "+
		"resident set %s, %s (%+.1f%%); DTLS sessions %d, %d", mib(heapBefore), mib(heapAfter), change(heapAfter, heapBefore),
		mib(rssBefore), mib(rssAfter), change(rssAfter, rssBefore), sessionsBefore, sessionsAfter)
	if change(heapAfter, heapBefore) > 10 {
		t.Errorf("live heap grew by %.1f%% over the soak, more than 10%%", change(heapAfter, heapBefore))
	}
	if total.ok == 0 {
		t.Error("no lookup counted")
	}
}

// soakLookup looks up a random node from another, both up. counted is
// false when either went down meanwhile; why says what failed.
func soakLookup(ctx context.Context, all []*testnet.Node, ch *churn, rng *rand.Rand) (ok, counted bool, why string) {
	from, to := rng.IntN(len(all)), rng.IntN(len(all)-1)
	if to >= from {
		to++
	}
	fromEpoch, fromUp := ch.up(from)
	toEpoch, toUp := ch.up(to)
	src := all[from].Node()
	if !fromUp || !toUp || src == nil {
		return false, false, ""
	}
	target := all[to].ID
	res, err := src.Lookup(ctx, target)
	if ctx.Err() != nil {
		return false, false, "" // the soak ended during the lookup
	}
	if e, up := ch.up(from); !up || e != fromEpoch {
		return false, false, ""
	}
	if e, up := ch.up(to); !up || e != toEpoch {
		return false, false, ""
	}
	if err == nil && res.Found {
		return true, true, ""
	}
	return false, true, fmt.Sprintf("node %d looking up node %d: found %v, err %v, %+v", from, to, res.Found, err, res.Stats)
}

// residentSet is the process's resident memory, after returning what the
// runtime can to the system.
func residentSet() uint64 {
	debug.FreeOSMemory()
	return stats.ResidentSet()
}

// change is the relative change from before to after, in percent.
func change(after, before uint64) float64 {
	if before == 0 {
		return 0
	}
	return 100 * (float64(after) - float64(before)) / float64(before)
}
