package sim

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/kadnode/kadnode/kad"
)

func TestCallDeliversQueryAndReply(t *testing.T) {
	n := newTestNetwork(t, Config{})
	a, b := newTestEndpoint(t, n, 0xaa), newTestEndpoint(t, n, 0xbb)
	rb := serveRecorder(b)

	id := b.LocalID()
	from, reply, err := a.Call(context.Background(), b.LocalAddr(), &id, pingFrom(a))
	if err != nil {
		t.Fatalf("Call: %v", err)
	}
	if from.ID != b.LocalID() || from.Addr != b.LocalAddr() {
		t.Errorf("answered by %x@%s, want %x@%s", from.ID, from.Addr, b.LocalID(), b.LocalAddr())
	}
	if reply.Y != krpc.YResponse || reply.R == nil || reply.R.ID != b.LocalID() {
		t.Errorf("reply = %+v, want a response carrying b's ID", reply)
	}
	q := rb.lastQ.Load()
	if q.Y != krpc.YQuery || q.T == "" || q.T != reply.T {
		t.Errorf("query y=%q t=%q, reply t=%q: want y=q and the same non-empty transaction ID", q.Y, q.T, reply.T)
	}
	if p := rb.last.Load(); p.ID != a.LocalID() || p.Addr != a.LocalAddr() {
		t.Errorf("handler saw caller %x@%s, want %x@%s", p.ID, p.Addr, a.LocalID(), a.LocalAddr())
	}
	if s := n.Stats(); s.Queries != 1 || s.Delivered != 1 || s.Replies != 1 || s.Bytes == 0 {
		t.Errorf("stats = %+v, want one query delivered and answered, bytes counted", s)
	}
}

func TestEndpointsGetDistinctLoopbackAddresses(t *testing.T) {
	n := newTestNetwork(t, Config{SkipEncoding: true})
	seen := make(map[string]bool)
	for i := range 300 {
		e := newTestEndpoint(t, n, byte(i))
		a := e.LocalAddr()
		if !a.Addr().IsLoopback() || a.Port() != Port {
			t.Fatalf("endpoint %d at %s, want a loopback address on port %d", i, a, Port)
		}
		if seen[a.String()] {
			t.Fatalf("address %s given twice", a)
		}
		seen[a.String()] = true
		if n.Endpoint(a) != e {
			t.Fatalf("Endpoint(%s) does not return the endpoint attached there", a)
		}
	}
}

func TestCallReturnsKRPCError(t *testing.T) {
	n := newTestNetwork(t, Config{})
	a, b := newTestEndpoint(t, n, 1), newTestEndpoint(t, n, 2)
	serveRecorder(b)

	_, reply, err := a.Call(context.Background(), b.LocalAddr(), nil, &krpc.Msg{Q: "fail", A: &krpc.MsgArgs{ID: a.LocalID()}})
	var kerr *krpc.Error
	if !errors.As(err, &kerr) || kerr.Code != krpc.ErrorCodeProtocolError {
		t.Fatalf("err = %v, want a *krpc.Error with code %d", err, krpc.ErrorCodeProtocolError)
	}
	if reply == nil || reply.Y != krpc.YError {
		t.Errorf("reply = %+v, want the error message with y=e", reply)
	}
}

func TestCallRejectsWrongIdentityBeforeDelivery(t *testing.T) {
	n := newTestNetwork(t, Config{})
	a, b := newTestEndpoint(t, n, 1), newTestEndpoint(t, n, 2)
	rb := serveRecorder(b)

	wrong := a.LocalID()
	_, _, err := a.Call(context.Background(), b.LocalAddr(), &wrong, pingFrom(a))
	var mismatch *kad.IDMismatchError
	if !errors.As(err, &mismatch) || mismatch.Got != b.LocalID() || mismatch.Expected != wrong {
		t.Fatalf("err = %v, want a *kad.IDMismatchError naming both IDs", err)
	}
	if rb.calls.Load() != 0 {
		t.Error("handler ran for a caller that expected another identity")
	}
}

func TestSilentHandlerTimesOut(t *testing.T) {
	n := newTestNetwork(t, Config{Timeout: time.Millisecond})
	a, b := newTestEndpoint(t, n, 1), newTestEndpoint(t, n, 2)
	rb := serveRecorder(b)

	_, _, err := a.Call(context.Background(), b.LocalAddr(), nil, &krpc.Msg{Q: "silent", A: &krpc.MsgArgs{ID: a.LocalID()}})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want a timeout", err)
	}
	if rb.calls.Load() != 1 {
		t.Errorf("handler ran %d times, want 1", rb.calls.Load())
	}
}

func TestLossDropsQueriesAndReplies(t *testing.T) {
	n := newTestNetwork(t, Config{Loss: 1, Timeout: time.Millisecond})
	a, b := newTestEndpoint(t, n, 1), newTestEndpoint(t, n, 2)
	rb := serveRecorder(b)

	_, _, err := a.Call(context.Background(), b.LocalAddr(), nil, pingFrom(a))
	var te *kad.RPCTimeoutError
	if !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &te) || te.Method != "ping" {
		t.Fatalf("err = %v, want a timeout matching context.DeadlineExceeded and *kad.RPCTimeoutError", err)
	}
	if rb.calls.Load() != 0 {
		t.Error("a lost query reached the handler")
	}
	if s := n.Stats(); s.Lost != 1 || s.Timeouts != 1 {
		t.Errorf("stats = %+v, want 1 lost and 1 timeout", s)
	}
}

func TestPartialLossLosesSomeNotAll(t *testing.T) {
	n := newTestNetwork(t, Config{Loss: 0.5, Timeout: time.Microsecond, Seed: 7, SkipEncoding: true})
	a, b := newTestEndpoint(t, n, 1), newTestEndpoint(t, n, 2)
	serveRecorder(b)

	const calls = 200
	var ok, failed int
	for range calls {
		if _, _, err := a.Call(context.Background(), b.LocalAddr(), nil, pingFrom(a)); err != nil {
			failed++
		} else {
			ok++
		}
	}
	// With independent losses of 1/2 per datagram a call succeeds with
	// probability 1/4: both outcomes must show up in 200 calls.
	if ok == 0 || failed == 0 {
		t.Fatalf("%d answered, %d failed of %d: loss is not random", ok, failed, calls)
	}
	if s := n.Stats(); s.Lost != uint64(failed) {
		t.Errorf("stats count %d lost, %d calls failed", s.Lost, failed)
	}
}

func TestLatencyDelaysEachDirection(t *testing.T) {
	const latency = 5 * time.Millisecond
	n := newTestNetwork(t, Config{Latency: latency, Jitter: time.Millisecond})
	a, b := newTestEndpoint(t, n, 1), newTestEndpoint(t, n, 2)
	serveRecorder(b)

	start := time.Now()
	if _, _, err := a.Call(context.Background(), b.LocalAddr(), nil, pingFrom(a)); err != nil {
		t.Fatal(err)
	}
	if rtt := time.Since(start); rtt < 2*latency {
		t.Errorf("round trip took %v, less than twice the one-way latency %v", rtt, latency)
	}
}

// With a tick, a query is handled and its reply arrives on the grid: the
// first multiple of the tick at or after the exact delay.
func TestTickPutsDeliveriesOnItsGrid(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const tick = 10 * time.Millisecond
		n := newTestNetwork(t, Config{Latency: 3 * time.Millisecond, Tick: tick, Timeout: 25 * time.Millisecond})
		a, b := newTestEndpoint(t, n, 1), newTestEndpoint(t, n, 2)
		var handledAt time.Time
		b.Serve(func(kad.Peer, *krpc.Msg) *krpc.Msg {
			handledAt = time.Now()
			return &krpc.Msg{R: &krpc.Return{ID: b.LocalID()}}
		})
		time.Sleep(4 * time.Millisecond) // off the grid
		start := time.Now()
		if _, _, err := a.Call(context.Background(), b.LocalAddr(), nil, pingFrom(a)); err != nil {
			t.Fatal(err)
		}
		onGrid := func(at time.Time) bool { return at.Equal(at.Truncate(tick)) }
		if got := handledAt.Sub(start); !onGrid(handledAt) || got != 6*time.Millisecond {
			t.Errorf("query handled %v after the call, at %v: want 6ms, on the %v grid", got, handledAt, tick)
		}
		if got := time.Since(start); !onGrid(time.Now()) || got != 16*time.Millisecond {
			t.Errorf("reply after %v: want 16ms (one tick after the query), on the grid", got)
		}
		// An unanswered call ends on the grid too, at or after its timeout.
		b.SetDown(true)
		start = time.Now()
		if _, _, err := a.Call(context.Background(), b.LocalAddr(), nil, pingFrom(a)); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("call to a failed endpoint: %v, want a timeout", err)
		}
		if got := time.Since(start); !onGrid(time.Now()) || got != 30*time.Millisecond {
			t.Errorf("timeout after %v: want 30ms (25ms, to the grid)", got)
		}
	})
}

func TestDownEndpointNeitherAnswersNorReaches(t *testing.T) {
	n := newTestNetwork(t, Config{Timeout: time.Millisecond})
	a, b := newTestEndpoint(t, n, 1), newTestEndpoint(t, n, 2)
	ra, rb := serveRecorder(a), serveRecorder(b)

	b.SetDown(true)
	if _, _, err := a.Call(context.Background(), b.LocalAddr(), nil, pingFrom(a)); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("call to a failed node: err = %v, want a timeout", err)
	}
	if _, _, err := b.Call(context.Background(), a.LocalAddr(), nil, pingFrom(b)); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("call from a failed node: err = %v, want a timeout", err)
	}
	if ra.calls.Load()+rb.calls.Load() != 0 {
		t.Error("a failed node exchanged a query")
	}

	b.SetDown(false)
	if _, _, err := a.Call(context.Background(), b.LocalAddr(), nil, pingFrom(a)); err != nil {
		t.Errorf("call after recovery: %v", err)
	}
}

func TestCallToUnknownAddressTimesOut(t *testing.T) {
	n := newTestNetwork(t, Config{Timeout: time.Millisecond})
	a, b := newTestEndpoint(t, n, 1), newTestEndpoint(t, n, 2)
	addr := b.LocalAddr()
	b.Close()
	if _, _, err := a.Call(context.Background(), addr, nil, pingFrom(a)); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want a timeout", err)
	}
	if s := n.Stats(); s.Dead != 1 {
		t.Errorf("stats = %+v, want 1 dead", s)
	}
}

func TestCallEndsWithContext(t *testing.T) {
	n := newTestNetwork(t, Config{Timeout: time.Hour})
	a, b := newTestEndpoint(t, n, 1), newTestEndpoint(t, n, 2)
	b.SetDown(true)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, _, err := a.Call(ctx, b.LocalAddr(), nil, pingFrom(a))
		done <- err
	}()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Call did not return after its context was cancelled")
	}

	ctx, cancel = context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	if _, _, err := a.Call(ctx, b.LocalAddr(), nil, pingFrom(a)); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want context.DeadlineExceeded", err)
	}
}

func TestCloseUnblocksCallsInFlight(t *testing.T) {
	n, err := NewNetwork(Config{Timeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	a, b := newTestEndpoint(t, n, 1), newTestEndpoint(t, n, 2)
	b.SetDown(true)

	const callers = 8
	errs := make(chan error, callers)
	for range callers {
		go func() {
			_, _, err := a.Call(context.Background(), b.LocalAddr(), nil, pingFrom(a))
			errs <- err
		}()
	}
	n.Close()
	for range callers {
		select {
		case err := <-errs:
			if !errors.Is(err, ErrClosed) || !errors.Is(err, kad.ErrClosed) {
				t.Errorf("err = %v, want ErrClosed, matching kad.ErrClosed", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a Call in flight did not return after Close")
		}
	}
	if _, _, err := a.Call(context.Background(), b.LocalAddr(), nil, pingFrom(a)); !errors.Is(err, ErrClosed) {
		t.Errorf("Call after Close: err = %v, want ErrClosed", err)
	}
	if _, err := n.NewEndpoint(krpc.ID{}); !errors.Is(err, ErrNetworkClosed) {
		t.Errorf("NewEndpoint after Close: err = %v, want ErrNetworkClosed", err)
	}
}

func TestConcurrentCalls(t *testing.T) {
	n := newTestNetwork(t, Config{SkipEncoding: true})
	eps := make([]*Endpoint, 16)
	for i := range eps {
		eps[i] = newTestEndpoint(t, n, byte(i))
		serveRecorder(eps[i])
	}
	const perCaller = 100
	var wg sync.WaitGroup
	errs := make(chan error, len(eps))
	for i, e := range eps {
		wg.Go(func() {
			for j := range perCaller {
				dst := eps[(i+j+1)%len(eps)]
				if _, _, err := e.Call(context.Background(), dst.LocalAddr(), nil, pingFrom(e)); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if s := n.Stats(); s.Replies != uint64(len(eps)*perCaller) {
		t.Errorf("%d replies, want %d", s.Replies, len(eps)*perCaller)
	}
}

func TestConfigValidation(t *testing.T) {
	for _, cfg := range []Config{{Loss: -0.1}, {Loss: 1.5}, {Latency: -1}, {Jitter: -1}, {Timeout: -1}, {Tick: -1}} {
		if _, err := NewNetwork(cfg); err == nil {
			t.Errorf("NewNetwork(%+v) accepted a bad config", cfg)
		}
	}
}

func TestNilQueryIsAnError(t *testing.T) {
	n := newTestNetwork(t, Config{})
	a, b := newTestEndpoint(t, n, 1), newTestEndpoint(t, n, 2)
	if _, _, err := a.Call(context.Background(), b.LocalAddr(), nil, nil); err == nil {
		t.Error("Call with a nil query returned no error")
	}
}
