package wire

import (
	"sync"
	"testing"

	"github.com/kadnode/kadnode/kad"
	"go.uber.org/goleak"
)

// 1,000 sessions opened and closed leave no goroutine behind on either
// side.
func TestSessionsDoNotLeak(t *testing.T) {
	total, parallel := 1000, 20
	if testing.Short() {
		total = 100
	}
	hub := newTestNode(t, nil)
	baseline := goleak.IgnoreCurrent()
	for done := 0; done < total; done += parallel {
		var wg sync.WaitGroup
		errs := make(chan error, parallel)
		for range parallel {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// A generous timeout: this test is about leaks, and 2 cores
				// under the race detector can be slow to answer.
				c := newTestNode(t, func(c *Config) { c.RPCTimeout = waitTimeout })
				defer c.Close()
				if _, _, err := c.Call(t.Context(), hub.LocalAddr(), nil, kad.PingQuery(c.LocalID(), false)); err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("%v; hub stats %+v", err, hub.Stats())
		}
	}
	waitFor(t, "the hub to close every session", func() bool { return idle(hub.Transport) })
	if got := hub.Stats().Handshakes["ok"]; got != uint64(total) {
		t.Errorf("hub completed %d handshakes, want %d", got, total)
	}
	goleak.VerifyNone(t, baseline)
}
