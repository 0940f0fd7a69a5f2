package store

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kadnode/kadnode/kad"
)

// benchTableSize is the number of contacts of a full routing table in the
// benchmarks (about 160 buckets' worth in practice is far less).
const benchTableSize = 5000

func benchContacts(n int) []kad.Contact {
	cs := make([]kad.Contact, n)
	for i := range cs {
		cs[i] = testContact(i)
	}
	return cs
}

// benchStore opens a store in a new dir holding cs.
func benchStore(b *testing.B, cs []kad.Contact) *Store {
	b.Helper()
	s := openT(b, b.TempDir(), testOptions())
	for i := 0; i < len(cs); i += 100 {
		if err := s.Update(cs[i:min(i+100, len(cs))], nil); err != nil {
			b.Fatal(err)
		}
	}
	return s
}

// BenchmarkTouchKnown: a last-seen update of a known contact, which must not
// write (it is coalesced until the next interval).
func BenchmarkTouchKnown(b *testing.B) {
	cs := benchContacts(benchTableSize)
	s := benchStore(b, cs)
	writes := s.Stats().Writes
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		c := cs[i%len(cs)]
		c.LastSeen = testEpoch.Add(time.Duration(i))
		if err := s.Touch(c); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if got := s.Stats().Writes; got != writes {
		b.Fatalf("Touch wrote %d batches", got-writes)
	}
}

// BenchmarkTouchKnownParallel: the same from every core at once.
func BenchmarkTouchKnownParallel(b *testing.B) {
	cs := benchContacts(benchTableSize)
	s := benchStore(b, cs)
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1)
			c := cs[int(i)%len(cs)]
			c.LastSeen = testEpoch.Add(time.Duration(i))
			if err := s.Touch(c); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkPutNew: inserting new contacts. With wal=fsync each is fsynced
// when Put returns: serially every Put pays one fsync, concurrent callers
// share one (Pebble groups concurrent syncs). With wal=os (WALSyncInterval 100ms) Put returns
// once the record is written to the operating system.
func BenchmarkPutNew(b *testing.B) {
	for _, walSync := range []time.Duration{0, 100 * time.Millisecond} {
		for _, callers := range []int{1, 16, 64, 256} {
			mode := "fsync"
			if walSync > 0 {
				mode = "os"
			}
			b.Run(fmt.Sprintf("wal=%s/callers=%d", mode, callers), func(b *testing.B) {
				benchPutNew(b, walSync, callers)
			})
		}
	}
}

// benchPutNew runs b.N Puts of new contacts from callers goroutines.
func benchPutNew(b *testing.B, walSync time.Duration, callers int) {
	o := testOptions()
	o.WALSyncInterval = walSync
	s := openT(b, b.TempDir(), o)
	cs := benchContacts(b.N)
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ReportAllocs()
	b.ResetTimer()
	for range callers {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < b.N; i = int(next.Add(1)) - 1 {
				if err := s.Put(cs[i]); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "puts/s")
}

// BenchmarkUpdateBatch: new contacts written in batches by one caller, as
// the table's flusher writes everything that changed since its last write.
func BenchmarkUpdateBatch(b *testing.B) {
	for _, walSync := range []time.Duration{0, 100 * time.Millisecond} {
		for _, batch := range []int{20, 100, 500} {
			mode := "fsync"
			if walSync > 0 {
				mode = "os"
			}
			b.Run(fmt.Sprintf("wal=%s/batch=%d", mode, batch), func(b *testing.B) {
				o := testOptions()
				o.WALSyncInterval = walSync
				s := openT(b, b.TempDir(), o)
				cs := benchContacts(batch * 64)
				b.ReportAllocs()
				for i := 0; b.Loop(); i++ {
					for j := range batch {
						cs[j].ID = testID(i*batch + j) // new contacts every time
					}
					if err := s.Update(cs[:batch], nil); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "contacts/s")
			})
		}
	}
}

// BenchmarkOpenLoad: Open and Load of a store holding a full table, and the
// heap that the loaded contacts take.
func BenchmarkOpenLoad(b *testing.B) {
	dir := b.TempDir()
	want := storeOf(b, dir, 0, benchTableSize)
	b.ReportAllocs()
	var heldPerContact float64
	for b.Loop() {
		s, err := Open(dir, testOptions())
		if err != nil {
			b.Fatal(err)
		}
		cs, err := s.Load()
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if len(cs) != len(want) {
			b.Fatalf("loaded %d contacts, want %d", len(cs), len(want))
		}
		heldPerContact = heapPerContact(s)
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(heldPerContact, "heapB/contact")
}

// heapPerContact is the live heap that a fresh Load of s holds, per contact.
func heapPerContact(s *Store) float64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	cs, err := s.Load()
	if err != nil {
		panic(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	n := len(cs)
	runtime.KeepAlive(cs)
	return float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
}
