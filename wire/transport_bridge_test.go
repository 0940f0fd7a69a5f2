package wire

import (
	"context"
	"net/netip"
	"sync/atomic"
	"testing"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/kadnode/kadnode/kad"
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
	b.Serve(func(from kad.Peer, q *krpc.Msg) *krpc.Msg {
		if reapNext.CompareAndSwap(true, false) {
			b.closeSessionWith(from.Addr)
			return nil
		}
		return b.handle(from, q)
	})
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	p, _, err := a.Call(ctx, b.LocalAddr(), nil, kad.PingQuery(a.LocalID(), false))
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

// The server's last handshake flight (ChangeCipherSpec, Finished) is lost
// on the link. The server counts the session as live; the client, which
// never got the flight, sends its own last flight again, and the server
// must answer it with its flight again rather than drop it as a plaintext
// record for an established session: otherwise the client's handshake
// times out and its call fails.
func TestBridgeLostFinalFlightIsResent(t *testing.T) {
	nodes := newBridgeNodes(t, 2, nil)
	a, b := nodes[0], nodes[1]
	var dropped atomic.Bool
	drop := func(to netip.AddrPort, d []byte) bool {
		// The server's last flight starts with its ChangeCipherSpec.
		return to == a.LocalAddr() && len(d) > 0 && d[0] == contentChangeCipherSpec && dropped.CompareAndSwap(false, true)
	}
	b.loss.Store(&drop)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if _, _, err := a.Call(ctx, b.LocalAddr(), nil, kad.PingQuery(a.LocalID(), false)); err != nil {
		t.Fatalf("call after the server's last flight was lost: %v; A %+v; B %+v", err, a.Stats(), b.Stats())
	}
	if !dropped.Load() {
		t.Fatal("no flight was dropped, so nothing was tested")
	}
	if n := a.Stats().Handshakes["timeout"]; n != 0 {
		t.Errorf("A counted %d handshake timeouts, want 0", n)
	}
	if n := b.Stats().Handshakes["ok"]; n != 1 {
		t.Errorf("B completed %d handshakes, want 1 (the resent flight finished the first)", n)
	}
}
