package wire

import (
	"context"
	"testing"
	"time"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/kadnode/kadnode/kad"
)

// A prepared handshake is the one the next call uses: one handshake in
// all, counted as prepared and used; preparing again with a session there
// starts nothing.
func TestPreparedHandshakeServesTheNextCall(t *testing.T) {
	a, b := newTestNode(t, preparing), newTestNode(t, nil)
	id := b.LocalID()
	a.Prepare(context.Background(), b.LocalAddr(), &id)
	waitFor(t, "the prepared session to be established", func() bool { return a.established(b.LocalAddr()) != nil }, a, b)
	if got, _ := a.ping(t, b, &id); got.ID != id {
		t.Fatalf("answered by %x, want %x", got.ID, id)
	}
	a.Prepare(context.Background(), b.LocalAddr(), &id)
	st := a.Stats()
	if st.Handshakes["ok"] != 1 || st.Prepared != 1 || st.PreparedUsed != 1 {
		t.Fatalf("want 1 handshake, prepared and used once; got ok %d, prepared %d, used %d", st.Handshakes["ok"], st.Prepared, st.PreparedUsed)
	}
}

// A call made right after Prepare, while b holds its reads and the
// handshake cannot end, waits for that handshake: it starts no second one.
func TestCallAfterPrepareMakesNoSecondHandshake(t *testing.T) {
	a, b := newTestNode(t, preparing), newTestNode(t, nil)
	release := b.holdReads()
	a.Prepare(context.Background(), b.LocalAddr(), nil)
	res := a.callAsync(b.LocalAddr())
	waitFor(t, "the prepared ClientHello to leave", func() bool { return a.helloSent(b.LocalAddr()) }, a)
	release()
	if r := <-res; r.err != nil {
		t.Fatalf("call over the prepared handshake: %v", r.err)
	}
	if st := a.Stats(); st.Handshakes["ok"] != 1 || st.PreparedUsed != 1 {
		t.Fatalf("want the call to use the one prepared handshake; got ok %d, used %d", st.Handshakes["ok"], st.PreparedUsed)
	}
}

// A prepared handshake checks the expected ID like a call's: a peer with
// another ID leaves no session.
func TestPreparedHandshakeChecksTheID(t *testing.T) {
	a, b := newTestNode(t, preparing), newTestNode(t, nil)
	var wrong krpc.ID
	wrong[0] = ^b.LocalID()[0]
	a.Prepare(context.Background(), b.LocalAddr(), &wrong)
	waitFor(t, "the prepared handshake to fail on the ID", func() bool { return a.Stats().Handshakes["id_mismatch"] == 1 && idle(a.Transport) }, a, b)
	if a.established(b.LocalAddr()) != nil {
		t.Fatal("a session with the wrong ID was kept")
	}
}

// Prepare never takes the last handshake slots or a session's place.
func TestPrepareStaysWithinHalfTheLimits(t *testing.T) {
	a := newTestNode(t, func(c *Config) { preparing(c); c.MaxPendingHandshakes = 2 })
	sink1, sink2 := rawSocket(t), rawSocket(t) // never answer
	a.Prepare(context.Background(), netipAddrOf(sink1.LocalAddr()), nil)
	a.Prepare(context.Background(), netipAddrOf(sink2.LocalAddr()), nil)
	if st := a.Stats(); st.Prepared != 1 || st.PendingHandshakes != 1 {
		t.Fatalf("with 2 handshake slots, want 1 prepared and pending; got %d prepared, %d pending", st.Prepared, st.PendingHandshakes)
	}

	c := newTestNode(t, func(c *Config) { preparing(c); c.MaxSessions = 1 })
	d, e := newTestNode(t, nil), newTestNode(t, nil)
	c.ping(t, d, nil)
	c.Prepare(context.Background(), e.LocalAddr(), nil)
	if st := c.Stats(); st.Prepared != 0 || c.established(d.LocalAddr()) == nil {
		t.Fatalf("at the session cap, Prepare started %d handshakes and the session to d is %v", st.Prepared, c.established(d.LocalAddr()))
	}
}

// A session prepared under a transient scope closes when the scope ends,
// unless keep names its peer or a lasting call used it.
func TestPreparedTransientSessionClosesWithScope(t *testing.T) {
	a, b, c, d := newTestNode(t, preparing), newTestNode(t, nil), newTestNode(t, nil), newTestNode(t, nil)
	scope, end := context.WithCancel(context.Background())
	defer end()
	tctx := kad.Transient(scope, func(id krpc.ID) bool { return id == d.LocalID() })
	for _, to := range []*testNode{b, c, d} {
		a.Prepare(tctx, to.LocalAddr(), nil)
	}
	waitFor(t, "three prepared sessions", func() bool { return a.Stats().LiveSessions == 3 }, a)
	a.ping(t, c, nil) // a call without the mark: c's session lasts
	end()
	waitFor(t, "the unused prepared session to close, on both sides", func() bool {
		return a.established(b.LocalAddr()) == nil && b.Stats().LiveSessions == 0
	}, a, b)
	if a.established(c.LocalAddr()) == nil || a.established(d.LocalAddr()) == nil {
		t.Fatal("a prepared session that a lasting call used, or whose peer keep names, closed with the scope")
	}
}

// Prepare starts nothing until a query has been answered, nor while the
// round-trip floor is below PrepareMinRTT: with a minimum of an hour,
// never; with one of 1 ns, after the first answer. (Not the default of
// 2 ms: a loaded machine's loopback can be that slow.)
func TestPrepareWaitsForSlowPaths(t *testing.T) {
	for _, tc := range []struct {
		name string
		min  time.Duration
		want uint64 // prepared after a ping
	}{
		{"1h", time.Hour, 0},
		{"1ns", time.Nanosecond, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newTestNode(t, func(c *Config) { c.PrepareMinRTT = tc.min })
			b, c := newTestNode(t, nil), newTestNode(t, nil)
			a.Prepare(context.Background(), c.LocalAddr(), nil)
			if st := a.Stats(); st.Prepared != 0 {
				t.Fatalf("prepared %d handshakes before any round trip was known", st.Prepared)
			}
			a.ping(t, b, nil)
			a.Prepare(context.Background(), c.LocalAddr(), nil)
			if st := a.Stats(); st.Prepared != tc.want {
				floor, _ := a.floor.get()
				t.Fatalf("after a ping (floor %v, PrepareMinRTT %v): prepared %d, want %d", floor, a.cfg.PrepareMinRTT, st.Prepared, tc.want)
			}
		})
	}
}

// The floor is the smallest recent round trip: a slow first answer does
// not raise it, and a path that got slower shows within two windows.
func TestRTTFloorIsTheSmallestRecentRoundTrip(t *testing.T) {
	var f rttFloor
	if _, ok := f.get(); ok {
		t.Fatal("a floor without samples")
	}
	f.observe(30 * time.Millisecond)
	for range rttFloorWindow / 2 {
		f.observe(time.Millisecond)
	}
	if got, _ := f.get(); got != time.Millisecond {
		t.Fatalf("floor %v, want 1ms", got)
	}
	for range 2 * rttFloorWindow {
		f.observe(20 * time.Millisecond)
	}
	if got, _ := f.get(); got != 20*time.Millisecond {
		t.Fatalf("after two windows of 20ms: floor %v, want 20ms", got)
	}
}
