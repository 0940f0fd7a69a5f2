package wire

import (
	"context"
	"testing"
	"time"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/kadnode/kadnode/kad"
)

// A session opened by a transient call closes when the call's scope ends,
// on both sides (close_notify), unless keep names its peer; a later call
// without the mark makes a transient session lasting.
func TestTransientSessionClosesWithScope(t *testing.T) {
	a, b, c, d := newTestNode(t, nil), newTestNode(t, nil), newTestNode(t, nil), newTestNode(t, nil)
	scope, end := context.WithCancel(context.Background())
	defer end()
	tctx := kad.Transient(scope, func(id krpc.ID) bool { return id == d.LocalID() })
	for _, to := range []*testNode{b, c, d} {
		if _, _, err := a.Call(tctx, to.LocalAddr(), nil, kad.PingQuery(a.LocalID(), false)); err != nil {
			t.Fatal(err)
		}
	}
	a.ping(t, c, nil) // c's session is now a lasting one
	if s := a.established(c.LocalAddr()); s == nil || s.transient.Load() {
		t.Fatal("a call without the mark left the session to c transient")
	}
	if s := a.established(b.LocalAddr()); s == nil || !s.transient.Load() {
		t.Fatal("the session to b, opened by a transient call, is not transient")
	}
	end()
	waitFor(t, "the transient session to close on both sides, and the kept one to last", func() bool {
		kept := a.established(d.LocalAddr())
		return a.established(b.LocalAddr()) == nil && b.Stats().LiveSessions == 0 && kept != nil && !kept.transient.Load()
	}, a, b)
	if a.established(c.LocalAddr()) == nil {
		t.Error("the lasting session to c closed with the scope")
	}
}

// A transient session whose scope never ends closes after
// TransientIdleTimeout, not IdleTimeout.
func TestTransientSessionIdleTimeout(t *testing.T) {
	a := newTestNode(t, func(c *Config) {
		c.IdleTimeout = time.Hour
		c.TransientIdleTimeout = 10 * time.Millisecond
	})
	b, c := newTestNode(t, nil), newTestNode(t, nil)
	if _, _, err := a.Call(kad.Transient(context.Background(), nil), b.LocalAddr(), nil, kad.PingQuery(a.LocalID(), false)); err != nil {
		t.Fatal(err)
	}
	a.ping(t, c, nil)
	waitFor(t, "the idle transient session to be reaped", func() bool { return a.established(b.LocalAddr()) == nil }, a)
	if a.established(c.LocalAddr()) == nil {
		t.Error("a lasting session was reaped with the transient idle timeout")
	}
}
