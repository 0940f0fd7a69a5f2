package wire

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
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

// A transient session whose scope ends while a call is in flight on it
// stays for that call, and closes when the call ends, not at the
// transient idle timeout.
func TestTransientSessionClosesAfterItsLastCall(t *testing.T) {
	a := newTestNode(t, func(c *Config) { c.IdleTimeout, c.TransientIdleTimeout = time.Hour, time.Hour })
	b := newTestNode(t, nil)
	var reached atomic.Int32
	release := make(chan struct{})
	b.Serve(func(from kad.Peer, q *krpc.Msg) *krpc.Msg {
		reached.Add(1)
		<-release
		return b.handle(from, q)
	})
	var once sync.Once
	free := func() { once.Do(func() { close(release) }) }
	t.Cleanup(free) // before the transports' own cleanups, which wait for the handler
	scope, end := context.WithCancel(context.Background())
	defer end()
	// The call outlives its scope, as a value put does after its lookup.
	callCtx := context.WithoutCancel(kad.Transient(scope, nil))
	done := make(chan error, 1)
	go func() {
		_, _, err := a.Call(callCtx, b.LocalAddr(), nil, kad.PingQuery(a.LocalID(), false))
		done <- err
	}()
	waitFor(t, "the query to reach b", func() bool { return reached.Load() == 1 }, a, b)
	end()
	if a.established(b.LocalAddr()) == nil {
		t.Fatal("the session closed under a call in flight")
	}
	free()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the session to close once its last call ended", func() bool {
		return a.established(b.LocalAddr()) == nil && b.Stats().LiveSessions == 0
	}, a, b)
}

// A transient call whose scope ends during the handshake it started
// leaves no lasting session: the session closes once the handshake is
// over.
func TestTransientSessionClosesAfterItsHandshake(t *testing.T) {
	a := newTestNode(t, func(c *Config) { c.IdleTimeout, c.TransientIdleTimeout = time.Hour, time.Hour })
	b := newTestNode(t, nil)
	release := b.holdReads()
	scope, end := context.WithCancel(context.Background())
	defer end()
	done := make(chan error, 1)
	go func() {
		_, _, err := a.Call(kad.Transient(scope, nil), b.LocalAddr(), nil, kad.PingQuery(a.LocalID(), false))
		done <- err
	}()
	waitFor(t, "a's ClientHello to be out", func() bool { return a.helloSent(b.LocalAddr()) }, a, b)
	end()
	if err := <-done; !errors.Is(err, context.Canceled) {
		release()
		t.Fatalf("the call ended with %v, want context.Canceled", err)
	}
	release()
	waitFor(t, "the handshake to end and its session to close", func() bool {
		return a.Stats().Handshakes["ok"] == 1 && a.established(b.LocalAddr()) == nil && b.Stats().LiveSessions == 0
	}, a, b)
}
