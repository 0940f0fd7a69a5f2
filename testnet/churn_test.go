package testnet

import (
	"context"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anacrolix/dht/v2/krpc"

	"github.com/kadnode/kadnode/kad"
	"github.com/kadnode/kadnode/node"
)

// churnRPCTimeout shortens the wait for the dead, which the lookups of a
// churned network run into all the time.
const churnRPCTimeout = 500 * time.Millisecond

// Killing 30% of a network leaves the rest able to find each other, and
// a dead contact leaves a table after exactly MaxFailures failed queries.
func TestChurn(t *testing.T) {
	size, lookups := 100, 300
	if testing.Short() {
		size, lookups = 40, 100
	}
	net := newNet(t, Options{
		Seed: 8,
		Node: func(i int, c *node.Config) { c.RPCTimeout = churnRPCTimeout },
	})
	start := time.Now()
	grow(t, net, size)
	t.Logf("%d nodes joined in %v", size, time.Since(start))

	r := rand.New(rand.NewPCG(9, 0))
	dead := make(map[krpc.ID]*Node)
	for _, i := range r.Perm(size)[:size*3/10] {
		m := net.Nodes()[i]
		dead[m.ID] = m
		if err := m.Kill(); err != nil {
			t.Fatal(err)
		}
	}
	live := net.Running()

	start = time.Now()
	var found atomic.Int64
	forEachParallel(lookups, func(i int) {
		from, to := live[r2(i, 7, 0, len(live))], live[r2(i, 13, 1, len(live))]
		if from == to {
			to = live[r2(i, 13, 2, len(live))]
		}
		res := lookup(t, from, to.ID)
		if res.Found && res.Addr == to.Addr {
			found.Add(1)
			return
		}
		logMissedLookup(t, from, to, res)
	})
	pct := 100 * float64(found.Load()) / float64(lookups)
	t.Logf("%d of %d nodes killed; %d lookups of live nodes in %v, %.1f%% found",
		size-len(live), size, lookups, time.Since(start), pct)
	if pct < 99 {
		t.Errorf("%.1f%% of lookups of live nodes succeeded, want ≥ 99%%", pct)
	}

	// Every live node now pings each dead member of its table until it is
	// gone: after at most MaxFailures failed pings its eviction verdict
	// starts (EvictionProbes more pings of the node's own), which must
	// evict it, and no entry may be seen with MaxFailures failures still
	// in the table. Background revalidation and lookups may count failures
	// too, so a contact can go sooner, never later. (Replacements promoted
	// meanwhile may be dead too; they are not checked here.)
	type pair struct {
		m *Node
		c node.ContactStatus
	}
	var pairs []pair
	for _, m := range live {
		for _, c := range deadMembers(m, dead) {
			pairs = append(pairs, pair{m, c})
		}
	}
	start = time.Now()
	var evicted, pings, retried atomic.Int64
	// The pings only wait for timeouts, so they all run at once.
	forEachOn(len(pairs), len(pairs), func(i int) {
		m, c := pairs[i].m, pairs[i].c
		for round := 1; ; round++ {
			switch pingToEviction(t, m, c, dead[c.ID].Contact(), &pings) {
			case evictedContact:
				evicted.Add(1)
				return
			case wentOffline:
				// A node pinging only the dead sees every call fail; on a
				// starved machine the probe of its link can time out too,
				// and it then rightly counts none of these failures.
				if round == maxEvictionRounds {
					t.Errorf("node %d took itself for offline in each of %d rounds of pings of a dead contact", m.Index, round)
					return
				}
				retried.Add(1)
			default:
				return // reported
			}
		}
	})
	var evictions uint64
	for _, m := range live {
		evictions += m.Node().Stats().Evictions
	}
	t.Logf("%d dead members evicted with %d pings in %v; %d evictions counted; %d rounds of pings repeated because the node took itself for offline",
		evicted.Load(), pings.Load(), time.Since(start), evictions, retried.Load())
	if evicted.Load() == 0 || evictions == 0 {
		t.Fatal("no dead contact was evicted")
	}
}

// logMissedLookup says why from's lookup of the live node to missed: what
// the lookup cost, whether from holds to, whether from took itself for
// offline, and whether to answers a direct ping now (a miss with a live,
// answering target is a routing failure; one whose ping fails too points
// at a starved machine).
func logMissedLookup(t *testing.T, from, to *Node, res node.LookupResult) {
	t.Helper()
	c, held := entry(from, to.ID)
	_, _, pingErr := from.Node().Ping(testCtx(t), to.Contact())
	t.Logf("missed: node %d's lookup of live node %d: found %v at %v (want %v); %+v; %d closest returned; held %v (failures %d); offline %v (spells %d); direct ping now: %v",
		from.Index, to.Index, res.Found, res.Addr, to.Addr, res.Stats, len(res.Closest), held, c.Failures,
		from.Node().Offline(), from.Node().Stats().OfflineSpells, pingErr)
}

// r2 is a cheap spread of i over [0, n).
func r2(i, mul, add, n int) int { return (i*mul + add) % n }

// deadMembers lists m's bucket members that are dead.
func deadMembers(m *Node, dead map[krpc.ID]*Node) []node.ContactStatus {
	var out []node.ContactStatus
	for _, c := range m.Node().Nodes() {
		if c.State == "bucket" && dead[c.ID] != nil {
			out = append(out, c)
		}
	}
	return out
}

// verdictWait bounds the wait for an eviction verdict (EvictionProbes
// pings of up to two RPC timeouts each), and for a node to leave the
// offline state; it is a hang guard, not a performance threshold.
const verdictWait = 60 * time.Second

// maxEvictionRounds bounds the rounds of pings of one dead contact that
// its node may void by taking itself for offline.
const maxEvictionRounds = 5

// evictionRound is how one round of pings of a dead contact ended.
type evictionRound int

const (
	evictedContact evictionRound = iota
	wentOffline                  // the node took itself for offline: its failures did not count
	reported                     // a failure of the test, already reported
)

// pingToEviction waits until m does not take itself for offline, then
// pings its dead contact c at most MaxFailures times and waits for the
// verdict to evict it. Failures count against c only while m is not
// offline, so a round in which m's offline count moved proves nothing,
// and the caller runs another one. (contact is c with its ID, to ping.)
func pingToEviction(t *testing.T, m *Node, c node.ContactStatus, contact kad.Endpoint, pings *atomic.Int64) evictionRound {
	if !holdsWithin(func() bool { return !m.Node().Offline() }) {
		t.Errorf("node %d still takes itself for offline %v later, with live peers in its table", m.Index, verdictWait)
		return reported
	}
	spells := m.Node().Stats().OfflineSpells
	wasOffline := func() bool { return m.Node().Stats().OfflineSpells != spells }
	for sent := 0; ; sent++ {
		cur, ok := entry(m, c.ID)
		if !ok || cur.Addr != c.Addr {
			return evictedContact
		}
		if cur.Failures >= node.DefaultMaxFailures {
			t.Errorf("node %d holds a dead contact with %d failures", m.Index, cur.Failures)
			return reported
		}
		if sent == node.DefaultMaxFailures {
			break
		}
		if _, _, err := m.Node().Ping(testCtx(t), contact); err == nil {
			t.Errorf("a killed node answered node %d", m.Index)
			return reported
		}
		pings.Add(1)
	}
	gone := func() bool {
		cur, ok := entry(m, c.ID)
		return !ok || cur.Addr != c.Addr
	}
	switch {
	case holdsWithin(func() bool { return gone() || wasOffline() }) && gone():
		return evictedContact
	case wasOffline():
		return wentOffline
	}
	cur, _ := entry(m, c.ID)
	t.Errorf("node %d still holds a dead contact %v after %d failed pings and its verdict, with %d failures counted, never offline meanwhile",
		m.Index, verdictWait, node.DefaultMaxFailures, cur.Failures)
	return reported
}

// holdsWithin reports whether cond holds within verdictWait.
func holdsWithin(cond func() bool) bool {
	ctx, cancel := context.WithTimeout(context.Background(), verdictWait)
	defer cancel()
	return WaitFor(ctx, cond) == nil
}
