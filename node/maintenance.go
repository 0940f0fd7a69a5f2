package node

import (
	"sync"
	"time"
)

// The node's maintenance (join and rejoin, refresh, revalidation, values,
// NAT) runs as timed tasks rather than as one parked goroutine per loop:
// a task waits on a timer, which holds no goroutine, and each run gets a
// goroutine only while it works. A node at rest thus holds none here. The
// runs of one task never overlap (the timer is armed again only when a
// run ends), and different tasks still run side by side, so a long
// refresh does not delay a revalidation ping or a NAT keepalive. The
// timers are the time package's, which testing/synctest makes virtual;
// what a run decides still reads Config.Clock.

// tasks owns the maintenance timers and the runs they start.
type tasks struct {
	mu     sync.Mutex
	closed bool
	timers []*time.Timer
	// wg counts armed timers and runs in progress: it is added to when a
	// timer is armed, and done when its run ends or Close stops it first.
	wg sync.WaitGroup
}

// every runs run after first, and again after each wait it returns, until
// it returns a negative wait or the tasks are closed.
func (ts *tasks) every(first time.Duration, run func() time.Duration) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.closed {
		return
	}
	var t *time.Timer
	ts.wg.Add(1)
	t = time.AfterFunc(first, func() {
		defer ts.wg.Done()
		next := run()
		if next < 0 {
			return
		}
		ts.mu.Lock()
		defer ts.mu.Unlock()
		if !ts.closed {
			ts.wg.Add(1)
			t.Reset(next)
		}
	})
	ts.timers = append(ts.timers, t)
}

// close stops every timer and waits for the runs in progress, which the
// caller ends (the node cancels its context first). Idempotent.
func (ts *tasks) close() {
	ts.mu.Lock()
	if !ts.closed {
		ts.closed = true
		for _, t := range ts.timers {
			if t.Stop() {
				ts.wg.Done() // its run will not start
			}
		}
	}
	ts.mu.Unlock()
	ts.wg.Wait()
}
