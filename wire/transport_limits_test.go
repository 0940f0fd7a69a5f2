package wire

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/kadnode/kadnode/kad"
)

// With the session table full, a new peer takes the place of the least
// recently used idle session.
func TestMaxSessionsEvictsLeastRecentlyUsed(t *testing.T) {
	hub := newTestNode(t, func(c *Config) { c.MaxSessions = 2 })
	peers := []*testNode{newTestNode(t, nil), newTestNode(t, nil), newTestNode(t, nil)}
	for _, p := range peers {
		p.ping(t, hub, nil)
		waitFor(t, "the hub to hold at most 2 sessions", func() bool { return hub.Stats().LiveSessions <= 2 })
	}
	if hub.sessionWith(peers[0].LocalAddr()) != nil {
		t.Error("the least recently used session was kept")
	}
	for _, p := range peers[1:] {
		if hub.sessionWith(p.LocalAddr()) == nil {
			t.Errorf("session with %s was evicted, want the oldest one evicted", p.LocalAddr())
		}
	}
	// The evicted peer heard close_notify and can come back.
	waitFor(t, "the evicted peer to drop its session", func() bool { return idle(peers[0].Transport) })
	peers[0].ping(t, hub, nil)
}

// A peer whose queries pile up (its handler is stuck) loses datagrams,
// counted, while the read loop keeps serving everyone else.
func TestStuckPeerDoesNotBlockOthers(t *testing.T) {
	release := make(chan struct{})
	hub := newTestNode(t, func(c *Config) { c.PeerQueueLen = 4 })
	stuck := newTestNode(t, func(c *Config) { c.RPCTimeout = waitTimeout })
	other := newTestNode(t, nil)
	stuck.ping(t, hub, nil) // open the session before the handler blocks
	hub.Serve(func(from kad.Peer, q *krpc.Msg) *krpc.Msg {
		if from.ID == stuck.LocalID() {
			<-release
		}
		return hub.handle(from, q)
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const calls = 40
	done := make(chan error, calls)
	for range calls {
		go func() {
			_, _, err := stuck.Call(ctx, hub.LocalAddr(), nil, kad.PingQuery(stuck.LocalID(), false))
			done <- err
		}()
	}
	waitFor(t, "the stuck peer's queue to overflow", func() bool { return hub.Stats().Dropped["queue_full"] > 0 })
	other.ping(t, hub, nil)
	close(release)
	cancel()
	for range calls {
		<-done
	}
}

// Handshakes in progress are capped; a dial over the cap fails at once
// with a clear error.
func TestMaxPendingHandshakes(t *testing.T) {
	a := newTestNode(t, func(c *Config) {
		c.MaxPendingHandshakes = 1
		c.HandshakeTimeout = 200 * time.Millisecond
	})
	silent := rawSocket(t) // never answers: the first dial stays pending
	silentAddr := silent.LocalAddr().(*net.UDPAddr).AddrPort()
	first := a.callAsync(silentAddr)
	waitFor(t, "the first dial to be pending", func() bool { return a.Stats().PendingHandshakes == 1 })
	b := newTestNode(t, nil)
	_, _, err := a.Call(context.Background(), b.LocalAddr(), nil, kad.PingQuery(a.LocalID(), false))
	var le *kad.LimitError
	if !errors.As(err, &le) {
		t.Fatalf("dial over the cap: %v, want a *LimitError", err)
	}
	var te *kad.HandshakeTimeoutError
	if r := <-first; !errors.As(r.err, &te) {
		t.Fatalf("dial to a silent address: %v, want a *HandshakeTimeoutError", r.err)
	}
	a.ping(t, b, nil) // the slot is free again
}
