package tasks

import (
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

func TestTaskRunsAfterEachWaitUntilClosed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ts Set
		var runs, stopped atomic.Int32
		ts.Every(time.Second, func() time.Duration {
			runs.Add(1)
			return 2 * time.Second
		})
		ts.Every(0, func() time.Duration {
			stopped.Add(1)
			return -1 // a negative wait ends the task
		})
		time.Sleep(5*time.Second + time.Millisecond) // virtual: runs at 1 s, 3 s, 5 s
		synctest.Wait()
		if got := runs.Load(); got != 3 {
			t.Fatalf("%d runs in 5 s at 1 s then every 2 s, want 3", got)
		}
		if got := stopped.Load(); got != 1 {
			t.Fatalf("the task that returned a negative wait ran %d times, want 1", got)
		}
		ts.Close()
		time.Sleep(time.Minute)
		if got := runs.Load(); got != 3 {
			t.Fatalf("%d runs after close, want still 3", got)
		}
		ts.Every(0, func() time.Duration {
			t.Error("a task started after close ran")
			return -1
		})
		time.Sleep(time.Second)
	})
}

func TestTaskCloseWaitsForTheRunInProgress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ts Set
		release := make(chan struct{})
		var overlap, running atomic.Int32
		ts.Every(0, func() time.Duration {
			if running.Add(1) > 1 {
				overlap.Add(1)
			}
			<-release
			running.Add(-1)
			return 0 // due again at once: runs must still not overlap
		})
		synctest.Wait()
		closed := make(chan struct{})
		go func() {
			ts.Close()
			close(closed)
		}()
		synctest.Wait()
		select {
		case <-closed:
			t.Fatal("close returned while a run was in progress")
		default:
		}
		close(release)
		<-closed
		if overlap.Load() != 0 {
			t.Fatal("two runs of one task overlapped")
		}
	})
}

func TestKickRunsAWaitingTaskNow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ts Set
		defer ts.Close()
		var runs atomic.Int32
		task := ts.Every(time.Hour, func() time.Duration {
			runs.Add(1)
			return time.Hour
		})
		time.Sleep(time.Minute)
		task.Kick()
		synctest.Wait()
		if got := runs.Load(); got != 1 {
			t.Fatalf("%d runs after a kick a minute into an hour's wait, want 1", got)
		}
		// The run's returned wait holds again: the next run is an hour on.
		time.Sleep(59 * time.Minute)
		synctest.Wait()
		if got := runs.Load(); got != 1 {
			t.Fatalf("%d runs an hour after the start, want still 1 (the kicked run set a new hour)", got)
		}
		time.Sleep(time.Minute + time.Millisecond)
		synctest.Wait()
		if got := runs.Load(); got != 2 {
			t.Fatalf("%d runs an hour after the kicked run, want 2", got)
		}
	})
}

// A kick during a run does not start a second, overlapping run; the task
// runs again once the first ends, not after the hour that run returns
// (the table emptied while a join was running was otherwise noticed only
// at the next check, a minute on). After Close a kick does nothing.
func TestKickDuringARunRunsItAgainAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ts Set
		release := make(chan struct{})
		var runs, overlap, running atomic.Int32
		task := ts.Every(0, func() time.Duration {
			if running.Add(1) > 1 {
				overlap.Add(1)
			}
			runs.Add(1)
			if runs.Load() == 1 {
				<-release
			}
			running.Add(-1)
			return time.Hour
		})
		synctest.Wait()
		task.Kick() // the first run is in progress
		close(release)
		synctest.Wait()
		if got := runs.Load(); got != 2 || overlap.Load() != 0 {
			t.Fatalf("%d runs (%d overlapping) after a kick during the first, want 2 and none", got, overlap.Load())
		}
		time.Sleep(59 * time.Minute) // the second run's hour holds
		synctest.Wait()
		if got := runs.Load(); got != 2 {
			t.Fatalf("%d runs within the hour after the kicked rerun, want still 2", got)
		}
		ts.Close()
		task.Kick()
		time.Sleep(2 * time.Hour)
		if got := runs.Load(); got != 2 {
			t.Fatalf("%d runs after a kick of a closed set, want still 2", got)
		}
	})
}
