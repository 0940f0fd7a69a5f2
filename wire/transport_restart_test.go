package wire

import (
	"context"
	"testing"
	"time"
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
			call := func() (Peer, error) {
				ctx, cancel := context.WithTimeout(context.Background(), rpcTimeout)
				defer cancel()
				p, _, err := a.Call(ctx, addr, nil, PingQuery(a.LocalID(), false))
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
