package wire

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/anacrolix/dht/v2/krpc"
)

// Both ends reap an idle session after the same timeout, so a peer's
// reaper can close the session (close_notify) just as our query arrives.
// The query goes unanswered and our session closes under the call; the
// peer is alive, so the call must go through over a new handshake instead
// of failing and counting against it.
func TestBridgeCallSurvivesPeerClosingItsSession(t *testing.T) {
	nodes := newBridgeNodes(t, 2, nil)
	a, b := nodes[0], nodes[1]
	a.ping(t, b, nil)

	var reapNext atomic.Bool
	reapNext.Store(true)
	b.Serve(func(from Peer, q *krpc.Msg) *krpc.Msg {
		if reapNext.CompareAndSwap(true, false) {
			b.closeSessionWith(from.Addr)
			return nil
		}
		return b.handle(from, q)
	})
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	p, _, err := a.Call(ctx, b.LocalAddr(), nil, PingQuery(a.LocalID(), false))
	if err != nil {
		t.Fatalf("call across the peer's close: %v; A %+v; B %+v", err, a.Stats(), b.Stats())
	}
	if p.ID != b.LocalID() {
		t.Fatalf("answered by %s, want %s", idHex(p.ID), idHex(b.LocalID()))
	}
	if reapNext.Load() {
		t.Fatal("the peer never saw the first query, so nothing was tested")
	}
	if n := b.Stats().Handshakes["ok"]; n != 2 {
		t.Errorf("B completed %d handshakes, want 2 (the first session and the redial)", n)
	}
}
