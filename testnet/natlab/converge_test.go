package natlab

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kadnode/kadnode/testnet"
	"github.com/kadnode/kadnode/testnet/netns"
)

// Sizes of TestBridgeConverges; KADNODE_BRIDGE_NODES and
// KADNODE_BRIDGE_OBSERVE override them (e.g. 10m for the full figure).
const (
	bridgeNodes   = 100
	bridgeObserve = 90 * time.Second
	// maxJoinTime bounds every node's join, from its start.
	maxJoinTime = 30 * time.Second
	// maxTimeoutShare bounds handshake timeouts with no fault injected.
	maxTimeoutShare = 0.01
	// bridgeWatchEvery is how often the watch reads every node's metrics.
	bridgeWatchEvery = 5 * time.Second
	// delayedNodes and delayedObserve size TestDelayedNetworkConverges
	// (KADNODE_DELAYED_NODES overrides the first): busy maintenance over
	// 20-120 ms round trips, each node pinging a contact every second.
	delayedNodes   = 30
	delayedObserve = 30 * time.Second
	// maxDump bounds the goroutine dump of a stuck node in the test log.
	maxDump = 64 << 10
)

// TestBridgeConverges runs a network of separate hosts: kadnode processes,
// each in a network namespace of its own on one Linux bridge, the first as
// the seed of all others, with the compose testnet's busy maintenance
// (revalidation every second, refresh every 20 s, 1 s RPC timeout), so
// that sessions are reaped and redialled all the time. Nothing faults.
// Every node must join within 30 s of its start, no contact may be evicted
// anywhere while the test watches, and handshake timeouts must stay under
// 1% of the handshakes. Loopback never showed the failures this guards
// against; 41 namespaces on a bridge did.
func TestBridgeConverges(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 100 kadnode processes in network namespaces")
	}
	n := envInt(t, "KADNODE_BRIDGE_NODES", bridgeNodes)
	lab := New(t)
	watchConvergence(t, n, envDuration(t, "KADNODE_BRIDGE_OBSERVE", bridgeObserve), func(i int) *Host {
		return lab.Public(fmt.Sprintf("n%d", i))
	})
}

// TestDelayedNetworkConverges is TestBridgeConverges on a path with
// latency: the hosts sit behind a delay router (round trips of 20-120 ms,
// datagrams sent within 2 ms of each other may swap), so every handshake
// and query takes real round trips, as between hosts on one continent.
func TestDelayedNetworkConverges(t *testing.T) {
	if testing.Short() {
		t.Skip("runs kadnode processes in network namespaces")
	}
	lab := New(t)
	r := lab.DelayRouter("dr", 10*time.Millisecond, 60*time.Millisecond, reorderJitter)
	watchConvergence(t, envInt(t, "KADNODE_DELAYED_NODES", delayedNodes), delayedObserve, func(i int) *Host {
		return r.AddHost(fmt.Sprintf("n%d", i))
	})
}

// watchConvergence starts n kadnode processes on the hosts host makes, the
// first as the seed of all others, with the compose testnet's busy
// maintenance, and watches them for observe: every node must join within
// maxJoinTime, no contact may be evicted anywhere, and handshake timeouts
// must stay under maxTimeoutShare.
func watchConvergence(t *testing.T, n int, observe time.Duration, host func(i int) *Host) {
	bin := Binary(t, modRoot)
	busy := []string{"--revalidate-interval", "1s", "--refresh-interval", "20s", "--rpc-timeout", "1s", "--log-level", "info"}
	nodes := []*Node{host(0).Start(bin, busy...)}
	seed := nodes[0].Seed()
	for i := 1; i < n; i++ {
		nodes = append(nodes, host(i).Start(bin, append([]string{"--seed", seed}, busy...)...))
	}
	t.Logf("%d nodes started; watching for %v", n, observe)
	// Watch: read every node's metrics every few seconds, and stop at the
	// first false eviction instead of waiting out the window.
	end := time.Now().Add(observe)
	var v *testnet.Convergence
	for {
		v = convergenceOf(t, nodes)
		if e := v.TotalEvictions(); e > 0 || !time.Now().Before(end) {
			break
		}
		time.Sleep(bridgeWatchEvery)
	}
	t.Logf("%d nodes, %v: %s", n, observe, v)
	if problems := v.Problems(maxJoinTime, maxTimeoutShare); len(problems) > 0 {
		t.Fatalf("the network did not converge: %s", strings.Join(problems, "; "))
	}
}

func envInt(t testing.TB, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < 2 {
		t.Fatalf("%s=%q: want a whole number of nodes, at least 2", name, s)
	}
	return v
}

func envDuration(t testing.TB, name string, def time.Duration) time.Duration {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	v, err := time.ParseDuration(s)
	if err != nil || v <= 0 {
		t.Fatalf("%s=%q: want a duration such as 90s or 10m", name, s)
	}
	return v
}

// convergenceOf reads every node's /metrics, from inside its namespace
// (the control API listens on the namespace's loopback).
func convergenceOf(t *testing.T, nodes []*Node) *testnet.Convergence {
	t.Helper()
	v := testnet.NewConvergence()
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make([]error, len(nodes))
	for i, nd := range nodes {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), clientWait)
			defer cancel()
			client := netns.HTTPClient(netns.Path(nd.Host.NS), clientWait)
			m, err := testnet.ReadMetrics(ctx, client, "http://"+apiAddr+"/metrics")
			if err != nil {
				errs[i] = fmt.Errorf("%s: %w\n%s", nd.Host.Name, err, tail(nd.Logs(), 40))
				return
			}
			mu.Lock()
			v.Add(nd.Host.Name, m, i == 0)
			mu.Unlock()
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			// A node whose API does not answer is stuck or starved: its
			// goroutines say which.
			dump := nodes[i].Dump()
			if at := strings.Index(dump, "SIGQUIT"); at >= 0 {
				dump = dump[at:min(len(dump), at+maxDump)]
			}
			t.Logf("%s, after SIGQUIT:\n%s", nodes[i].Host.Name, dump)
			t.Fatal(err)
		}
	}
	return v
}
