//go:build unix

package node

import (
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/kadnode/kadnode/kad"
)

// fullTablePeers returns K distinct peers for every bucket of self's table
// (as many as exist for the nearest buckets), with distinct private
// addresses so that no subnet limit applies, and ReplacementSize more per
// bucket when withReplacements is set.
func fullTablePeers(self krpc.ID, withReplacements bool) []kad.Peer {
	r := newRand(99)
	per := DefaultK
	if withReplacements {
		per += DefaultReplacementSize
	}
	var peers []kad.Peer
	for i := range NumBuckets {
		ids := make(map[krpc.ID]bool)
		for len(ids) < min(per, 1<<min(i, 30)) {
			ids[idInBucket(self, i, r)] = true
		}
		for id := range ids {
			peers = append(peers, peer(id, privateAddr(len(peers))))
		}
	}
	return peers
}

func fullTable(b *testing.B, st Store) (*Table, []kad.Peer) {
	tab := NewTable(testSelf, TableConfig{}, st, nil, nil, nil)
	peers := fullTablePeers(testSelf, false)
	for _, p := range peers {
		if tab.Seen(p) != Inserted {
			b.Fatal("could not fill the table")
		}
	}
	return tab, peers
}

// cpuTime is the process's user and system CPU time so far. On a shared
// machine the wall time per operation says more about the neighbours than
// about the code, so the benchmarks report CPU time per operation too.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// meter reports operations per second and CPU time per operation for
// the timed part of a benchmark.
type meter struct {
	b            *testing.B
	start, pause time.Duration
	paused       time.Duration
}

// measure resets the timer and starts a meter.
func measure(b *testing.B) *meter {
	b.ReportAllocs()
	m := &meter{b: b, start: cpuTime()}
	b.ResetTimer()
	return m
}

// stopTimer and startTimer bracket untimed work, whose CPU is not counted.
func (m *meter) stopTimer() {
	m.b.StopTimer()
	m.pause = cpuTime()
}

func (m *meter) startTimer() {
	m.paused += cpuTime() - m.pause
	m.b.StartTimer()
}

func (m *meter) stop() {
	m.b.StopTimer()
	m.b.ReportMetric(float64(m.b.N)/m.b.Elapsed().Seconds(), "ops/s")
	m.b.ReportMetric(float64(cpuTime()-m.start-m.paused)/float64(m.b.N), "cpu-ns/op")
}

// BenchmarkTableSeenKnown is Seen on contacts already in a full table,
// with no store.
func BenchmarkTableSeenKnown(b *testing.B) {
	tab, peers := fullTable(b, nil)
	defer tab.Close()
	m := measure(b)
	for i := range b.N {
		tab.Seen(peers[i%len(peers)])
	}
	m.stop()
}

// BenchmarkTableSeenKnownPebble is the same against a Pebble store: the
// refreshes are coalesced Touches, not writes.
func BenchmarkTableSeenKnownPebble(b *testing.B) {
	st := openStore(b, b.TempDir(), testSelf)
	defer st.Close()
	tab, peers := fullTable(b, st)
	defer tab.Close()
	tab.Flush()
	m := measure(b)
	for i := range b.N {
		tab.Seen(peers[i%len(peers)])
	}
	tab.Flush()
	m.stop()
}

// BenchmarkTableInsertPebble inserts new contacts into a table backed by
// Pebble, counting until the store has them (the final Flush is timed).
// Every round of a full table's worth, the contacts are removed again
// with the timer stopped.
func BenchmarkTableInsertPebble(b *testing.B) {
	st := openStore(b, b.TempDir(), testSelf)
	defer st.Close()
	tab := NewTable(testSelf, TableConfig{}, st, nil, nil, nil)
	defer tab.Close()
	peers := fullTablePeers(testSelf, false)
	m := measure(b)
	for i := range b.N {
		if i > 0 && i%len(peers) == 0 {
			m.stopTimer()
			for _, p := range peers {
				tab.Remove(p.ID)
			}
			tab.Flush()
			m.startTimer()
		}
		if tab.Seen(peers[i%len(peers)]) != Inserted {
			b.Fatal("not inserted")
		}
	}
	tab.Flush()
	m.stop()
}

// BenchmarkTableClosest asks a full table (K members in every bucket that
// can hold them) for the 20 nearest to random targets.
func BenchmarkTableClosest(b *testing.B) {
	tab, _ := fullTable(b, nil)
	defer tab.Close()
	targets := make([]krpc.ID, 1024)
	r := newRand(7)
	for i := range targets {
		for j := range targets[i] {
			targets[i][j] = byte(r.Uint32())
		}
	}
	m := measure(b)
	for i := range b.N {
		if got := tab.Closest(targets[i%len(targets)], DefaultK); len(got) != DefaultK {
			b.Fatalf("Closest returned %d", len(got))
		}
	}
	m.stop()
}

// BenchmarkTableLoad rebuilds a full table, members and replacement
// caches, from its contacts. It also reports the heap one such table takes
// per contact.
func BenchmarkTableLoad(b *testing.B) {
	src := NewTable(testSelf, TableConfig{}, nil, nil, nil, nil)
	for _, p := range fullTablePeers(testSelf, true) {
		src.Seen(p)
	}
	src.Close()
	cs := src.Contacts()

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	held := NewTable(testSelf, TableConfig{}, nil, nil, nil, nil)
	held.Load(cs)
	runtime.GC()
	runtime.ReadMemStats(&after)
	if held.Len() == 0 {
		b.Fatal("nothing loaded")
	}
	runtime.KeepAlive(held)

	m := measure(b)
	for range b.N {
		NewTable(testSelf, TableConfig{}, nil, nil, nil, nil).Load(cs)
	}
	m.stop()
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(len(cs)), "heap-B/contact")
	b.ReportMetric(float64(len(cs)), "contacts")
}

// BenchmarkBucketFind is the search every message makes for its sender in
// a full bucket, half of them members at every position and half
// strangers, which compare against every member.
func BenchmarkBucketFind(b *testing.B) {
	list := make([]kad.Contact, DefaultK)
	for i := range list {
		list[i].ID = krpc.RandomNodeID()
	}
	ids := make([]krpc.ID, 2*len(list))
	for i := range ids {
		ids[i] = krpc.RandomNodeID()
		if i%2 == 0 {
			ids[i] = list[i/2].ID
		}
	}
	found := 0
	for i := range b.N {
		if find(list, ids[i%len(ids)]) >= 0 {
			found++
		}
	}
	if b.N >= len(ids) && found == 0 {
		b.Fatal("no member found")
	}
}
