package sim

import (
	"sync"
	"time"
)

// wakes lets every wait that ends at the same instant share one timer
// and one channel. On the tick grid a hundred datagrams or more are due
// at each instant of a large network; a timer each made the runtime's
// timer heap a tenth of a 10,000-node build's CPU.
type wakes struct {
	mu  sync.Mutex
	due map[int64]chan struct{} // by wake time, in Unix nanoseconds
}

// at returns a channel that is closed at t.
func (w *wakes) at(t time.Time) <-chan struct{} {
	key := t.UnixNano()
	w.mu.Lock()
	defer w.mu.Unlock()
	if ch, ok := w.due[key]; ok {
		return ch
	}
	if w.due == nil {
		w.due = make(map[int64]chan struct{})
	}
	ch := make(chan struct{})
	w.due[key] = ch
	time.AfterFunc(time.Until(t), func() {
		w.mu.Lock()
		delete(w.due, key)
		w.mu.Unlock()
		close(ch)
	})
	return ch
}
