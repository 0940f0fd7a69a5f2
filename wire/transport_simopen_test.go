package wire

import (
	"testing"
	"time"

	"github.com/kadnode/kadnode/kad"
)

// Both sides dial at once: each ClientHello leaves before the other side
// reads anything. The tie-break on the ClientHello randoms must make every
// one of these succeed, with exactly one side yielding.
func TestSimultaneousOpen(t *testing.T) {
	rounds := 200
	if testing.Short() {
		rounds = 20
	}
	a, b := newTestNode(t, nil), newTestNode(t, nil)
	for i := range rounds {
		releaseA, releaseB := a.holdReads(), b.holdReads()
		fromA, fromB := a.callAsync(b.LocalAddr()), b.callAsync(a.LocalAddr())
		waitFor(t, "both ClientHellos to be sent", func() bool {
			return a.helloSent(b.LocalAddr()) && b.helloSent(a.LocalAddr())
		})
		releaseA()
		releaseB()
		for _, r := range []callResult{<-fromA, <-fromB} {
			if r.err != nil {
				t.Fatalf("round %d: simultaneous open failed: %v", i, r.err)
			}
		}
		a.closeSessions()
		waitFor(t, "both sides to close the session", func() bool { return idle(a.Transport) && idle(b.Transport) })
	}
	sa, sb := a.Stats(), b.Stats()
	if got := sa.Handshakes["simultaneous_open"] + sb.Handshakes["simultaneous_open"]; got != uint64(rounds) {
		t.Errorf("%d dials yielded in %d rounds, want one per round", got, rounds)
	}
	for _, st := range []Stats{sa, sb} {
		if n := st.Handshakes["failed"] + st.Handshakes["timeout"]; n != 0 {
			t.Errorf("%d handshakes failed: %v", n, st.Handshakes)
		}
	}
}

// A peer that restarts on the same port with a new key is reachable again
// both ways, after at most one timeout and redial, with its new ID.
func TestPeerRestart(t *testing.T) {
	short := func(c *Config) { c.RPCTimeout = 300 * time.Millisecond }
	for _, restartedCallsFirst := range []bool{true, false} {
		name := map[bool]string{true: "restarted peer calls first", false: "survivor calls first"}[restartedCallsFirst]
		t.Run(name, func(t *testing.T) {
			a, b := newTestNode(t, short), newTestNode(t, short)
			a.ping(t, b, nil)
			b.ping(t, a, nil)
			oldID, addr := b.LocalID(), b.LocalAddr()
			b.crash()
			b2 := newTestNode(t, func(c *Config) {
				short(c)
				c.Listen = addr.String()
			})
			if b2.LocalID() == oldID {
				t.Fatal("restarted node kept its ID")
			}
			check := func(p kad.Peer, who string) {
				t.Helper()
				if p.ID != b2.LocalID() || p.Addr != addr {
					t.Errorf("%s reports %x@%s, want the new ID %s@%s", who, p.ID[:], p.Addr, idHex(b2.LocalID()), addr)
				}
			}
			if restartedCallsFirst {
				b2.ping(t, a, nil)
				check(a.lastSeen(), "A's handler")
				p, _ := a.ping(t, b2, nil)
				check(p, "A's call")
			} else {
				p, _ := a.ping(t, b2, nil)
				check(p, "A's call")
				b2.ping(t, a, nil)
				check(a.lastSeen(), "A's handler")
			}
			if st := a.Stats(); st.LiveSessions != 1 {
				t.Errorf("A holds %d sessions, want 1 (the stale one replaced)", st.LiveSessions)
			}
		})
	}
}
