// Package tasks runs periodic jobs on timers rather than on goroutines
// parked for a component's whole life: a task waits on a timer, which
// holds no goroutine, and each run gets a goroutine only while it works.
// The runs of one task never overlap (its timer is armed again only when
// a run ends), and different tasks run side by side, so a long run of one
// does not delay another. The timers are the time package's, which
// testing/synctest makes virtual.
package tasks

import (
	"sync"
	"time"
)

// Set owns a component's task timers and the runs they start. The zero
// value is ready to use.
type Set struct {
	mu     sync.Mutex
	closed bool
	timers []*time.Timer
	// wg counts armed timers and runs in progress: it is added to when a
	// timer is armed, and done when its run ends or Close stops it first.
	wg sync.WaitGroup
}

// Task is one task of a Set.
type Task struct {
	set   *Set
	timer *time.Timer
	// kicked is set by a Kick that came while a run was in progress (or
	// already due): that run's successor then starts at once. Guarded by
	// set.mu.
	kicked bool
}

// Every runs run after first, and again after each wait it returns, until
// it returns a negative wait or the set is closed.
func (s *Set) Every(first time.Duration, run func() time.Duration) *Task {
	s.mu.Lock()
	defer s.mu.Unlock()
	task := &Task{set: s}
	if s.closed {
		return task
	}
	s.wg.Add(1)
	task.timer = time.AfterFunc(first, func() {
		defer s.wg.Done()
		next := run()
		if next < 0 {
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if task.kicked {
			task.kicked, next = false, 0
		}
		if !s.closed {
			s.wg.Add(1)
			task.timer.Reset(next)
		}
	})
	s.timers = append(s.timers, task.timer)
	return task
}

// Kick makes a task that waits for its next run run now. A run in
// progress, or one already due, is not disturbed: the task runs again as
// soon as it ends, instead of after the wait it returns (unless it
// returns a negative one), since the event the kick announces may have
// come after the run looked. It lets an event start a run that would
// otherwise wait for a periodic check.
func (t *Task) Kick() {
	s := t.set
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed { // also the case of a task whose Every came after Close
		return
	}
	// Stop and Reset under s.mu, as the run re-arms under it: a stopped
	// timer keeps its count in s.wg for the run Reset arms again.
	if t.timer.Stop() {
		t.timer.Reset(0)
		return
	}
	t.kicked = true
}

// Close stops every timer and waits for the runs in progress, which the
// caller ends (by cancelling what they wait on first). Idempotent.
func (s *Set) Close() {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		for _, t := range s.timers {
			if t.Stop() {
				s.wg.Done() // its run will not start
			}
		}
	}
	s.mu.Unlock()
	s.wg.Wait()
}
