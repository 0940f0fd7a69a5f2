package wire

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/kadnode/kadnode/kad"
	"github.com/kadnode/kadnode/kad/kadtest"
)

// A peer crashes (no close_notify) and comes back on its address, with
// its key or a new one. The survivor calls it as the node does: a caller
// deadline equal to the RPC timeout, which expires before wire's own
// timer. The first call may be lost to the old session; the next ones must
// reach the new incarnation, without it ever calling the survivor.
func TestCrashRestartCallerDeadline(t *testing.T) {
	const rpcTimeout = 300 * time.Millisecond
	short := func(c *Config) { c.RPCTimeout = rpcTimeout }
	for _, sameKey := range []bool{true, false} {
		name := map[bool]string{true: "same key", false: "new key"}[sameKey]
		t.Run(name, func(t *testing.T) {
			a, b := newTestNode(t, short), newTestNode(t, short)
			a.ping(t, b, nil)
			addr := b.LocalAddr()
			b.crash()
			b2 := newTestNode(t, func(c *Config) {
				short(c)
				c.Listen = addr.String()
				if sameKey {
					c.Identity = b.id
				}
			})
			call := func() (kad.Peer, error) {
				ctx, cancel := context.WithTimeout(context.Background(), rpcTimeout)
				defer cancel()
				p, _, err := a.Call(ctx, addr, nil, kad.PingQuery(a.LocalID(), false))
				return p, err
			}
			if _, err := call(); err != nil {
				t.Logf("first call after the crash: %v", err)
			}
			for i := range 3 {
				p, err := call()
				if err != nil {
					t.Fatalf("call %d after the crash: %v; A %+v", i+2, err, a.Stats())
				}
				if p.ID != b2.LocalID() {
					t.Fatalf("call %d reached %x, want the restarted node %s", i+2, p.ID[:], idHex(b2.LocalID()))
				}
			}
			if n := b2.Stats().Handshakes["ok"]; n != 1 {
				t.Errorf("the restarted node completed %d handshakes, want 1", n)
			}
			if st := a.Stats(); st.LiveSessions != 1 {
				t.Errorf("A holds %d sessions, want 1 (the stale one replaced)", st.LiveSessions)
			}
		})
	}
}

// An unanswered call marks its session suspect only when nothing else
// arrived on it since the call went out (otherwise the peer is alive);
// the next call replaces a suspect session by a new handshake.
func TestSuspectOnlyWhenSilent(t *testing.T) {
	a, b := newTestNode(t, nil), newTestNode(t, nil)
	a.ping(t, b, nil)
	s := a.sessionWith(b.LocalAddr())
	seen := s.recvs.Load()
	s.recvs.Add(1) // as if a record had come in after the call was sent
	if s.noAnswer(seen) {
		t.Fatal("a session that received a record after the call went out is suspect")
	}
	if !s.noAnswer(s.recvs.Load()) {
		t.Fatal("a session silent since the call went out is not suspect")
	}
	a.ping(t, b, nil) // redials
	if n := a.Stats().Handshakes["ok"]; n != 2 {
		t.Errorf("A completed %d handshakes, want 2 (one redial of the suspect session)", n)
	}
	if a.sessionWith(b.LocalAddr()) == s {
		t.Error("the suspect session was not replaced")
	}
}

// One call times out on a session that other calls are using: the peer
// lost its query and is stuck on the next one, so nothing comes back. The
// timed-out call redials; the calls in flight on the old session must not
// fail when it is replaced, but complete over the new one.
func TestTimeoutDoesNotFailConcurrentCalls(t *testing.T) {
	const inFlight = 4
	a := newTestNode(t, func(c *Config) { c.RPCTimeout = time.Second })
	b := newTestNode(t, nil)
	dropTarget, holdTarget := kadtest.ID(1), kadtest.ID(2)
	gate := make(chan struct{})
	var release sync.Once
	defer release.Do(func() { close(gate) })
	var dropped, held atomic.Int64
	b.Serve(func(from kad.Peer, q *krpc.Msg) *krpc.Msg {
		if q.Q == kad.MethodFindNode {
			switch q.A.Target {
			case dropTarget:
				if dropped.Add(1) == 1 {
					return nil // the first one is lost
				}
			case holdTarget:
				if held.Add(1) == 1 {
					<-gate // the first one blocks the old session's reader
				}
			}
		}
		return b.handle(from, q)
	})
	a.ping(t, b, nil)
	old := a.sessionWith(b.LocalAddr())

	findNode := func(target krpc.ID) <-chan error {
		ch := make(chan error, 1)
		go func() {
			_, _, err := a.Call(context.Background(), b.LocalAddr(), nil, kad.FindNodeQuery(a.LocalID(), target, false))
			ch <- err
		}()
		return ch
	}
	lost := findNode(dropTarget)
	waitFor(t, "B to drop the first query", func() bool { return dropped.Load() == 1 })
	var others []<-chan error
	for range inFlight {
		others = append(others, findNode(holdTarget))
	}
	waitFor(t, "the calls to be in flight on the old session", func() bool { return old.inFlight() == inFlight+1 })
	if err := <-lost; err != nil {
		t.Errorf("the call whose query was lost did not succeed on its retry: %v", err)
	}
	for i, ch := range others {
		if err := <-ch; err != nil {
			t.Errorf("call %d in flight on the replaced session failed: %v", i, err)
		}
	}
	release.Do(func() { close(gate) })
	if n := a.Stats().Handshakes["ok"]; n != 2 {
		t.Errorf("A completed %d handshakes, want 2 (one redial)", n)
	}
	if a.sessionWith(b.LocalAddr()) == old {
		t.Error("the silent session was not replaced")
	}
}
