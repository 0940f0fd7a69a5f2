package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"syscall"
	"time"

	"github.com/kadnode/kadnode/testnet/stats"
)

// memSnapshot is the process's memory after a full GC.
type memSnapshot struct {
	heap       uint64 // live heap bytes
	rss        uint64 // resident set bytes
	goroutines int
}

// takeMem collects garbage, returns freed memory to the OS, and reads
// the heap and RSS, so that differences between snapshots are what the
// objects built in between hold.
func takeMem() memSnapshot {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return memSnapshot{heap: ms.HeapAlloc, rss: stats.ResidentSet(), goroutines: runtime.NumGoroutine()}
}

// perNode is the memory each of n nodes added between before and after.
type perNode struct {
	heap, rss  float64 // bytes
	goroutines float64
}

func memPerNode(before, after memSnapshot, n int) perNode {
	d := func(a, b uint64) float64 { return (float64(a) - float64(b)) / float64(n) }
	return perNode{
		heap:       d(after.heap, before.heap),
		rss:        d(after.rss, before.rss),
		goroutines: float64(after.goroutines-before.goroutines) / float64(n),
	}
}

// cpuTime is the process's user plus system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cost is the wall and CPU time of a phase; cpu/wall is the cores it used.
type cost struct {
	wall, cpu time.Duration
}

func (c cost) cores() float64 {
	if c.wall <= 0 {
		return 0
	}
	return c.cpu.Seconds() / c.wall.Seconds()
}

func (c *cost) add(o cost) { c.wall += o.wall; c.cpu += o.cpu }

// measure runs f and returns its cost. When profileDir is set it also
// writes a CPU profile of f to profileDir/name.pprof.
func measure(profileDir, name string, f func()) cost {
	stop := startProfile(profileDir, name)
	defer stop()
	wall, cpu := time.Now(), cpuTime()
	f()
	return cost{wall: time.Since(wall), cpu: cpuTime() - cpu}
}

func startProfile(dir, name string) (stop func()) {
	if dir == "" {
		return func() {}
	}
	f, err := os.Create(filepath.Join(dir, name+".pprof"))
	if err != nil {
		fmt.Fprintf(os.Stderr, "benchcompare: cannot write profile %s: %v\n", name, err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		// Another profile (-cpuprofile) is running; the phase is in that one.
		f.Close()
		os.Remove(f.Name())
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}

// writeHeapProfile writes the live heap to dir/name.pprof when dir is set.
func writeHeapProfile(dir, name string) {
	if dir == "" {
		return
	}
	f, err := os.Create(filepath.Join(dir, name+".pprof"))
	if err != nil {
		fmt.Fprintf(os.Stderr, "benchcompare: cannot write profile %s: %v\n", name, err)
		return
	}
	defer f.Close()
	runtime.GC()
	if err := pprof.WriteHeapProfile(f); err != nil {
		fmt.Fprintf(os.Stderr, "benchcompare: cannot write profile %s: %v\n", name, err)
	}
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
