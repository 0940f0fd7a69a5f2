package sim

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/anacrolix/dht/v2/krpc"

	"github.com/kadnode/kadnode/kad"
	"github.com/kadnode/kadnode/node"
)

var _ node.Transport = (*Endpoint)(nil)

// ErrClosed is returned by Call on a closed endpoint; it matches
// kad.ErrClosed, as the real transport's does.
var ErrClosed = fmt.Errorf("sim: endpoint is closed: %w", kad.ErrClosed)

// Endpoint is one simulated node's transport. A query is handled in the
// caller's goroutine, so an endpoint owns no goroutines and the cost of a
// message is a function call plus, unless disabled, a bencode round trip.
type Endpoint struct {
	net  *Network
	id   krpc.ID
	addr netip.AddrPort

	nat       *natBox // nil for a public endpoint
	handler   atomic.Pointer[kad.Handler]
	down      atomic.Bool
	txid      atomic.Uint64
	closeOnce sync.Once
	closed    chan struct{}
}

func newEndpoint(n *Network, id krpc.ID, addr netip.AddrPort) *Endpoint {
	return &Endpoint{net: n, id: id, addr: addr, closed: make(chan struct{})}
}

// LocalID is the ID the simulation assigned.
func (e *Endpoint) LocalID() krpc.ID { return e.id }

// LocalAddr is the endpoint's simulated address.
func (e *Endpoint) LocalAddr() netip.AddrPort { return e.addr }

// Serve installs the handler for inbound queries.
func (e *Endpoint) Serve(h kad.Handler) { e.handler.Store(&h) }

// SetDown fails the endpoint (true) or brings it back (false). A failed
// endpoint neither answers nor reaches anyone: its callers and its own Calls
// time out, as with a host that has vanished without a word.
func (e *Endpoint) SetDown(down bool) { e.down.Store(down) }

// Down reports whether the endpoint is failed.
func (e *Endpoint) Down() bool { return e.down.Load() }

// Close detaches the endpoint: it stops answering and its Calls in flight
// return ErrClosed.
func (e *Endpoint) Close() error {
	e.closeOnce.Do(func() {
		close(e.closed)
		e.net.detach(e)
	})
	return nil
}

func (e *Endpoint) isClosed() bool {
	select {
	case <-e.closed:
		return true
	default:
		return false
	}
}

// Call delivers q to the endpoint at addr and returns its reply. Latency,
// loss and failed peers behave as on a real network; a missing answer
// costs the network's Timeout (or less, if ctx ends first) and returns an
// error wrapping context.DeadlineExceeded.
func (e *Endpoint) Call(ctx context.Context, addr netip.AddrPort, expect *krpc.ID, q *krpc.Msg) (kad.Peer, *krpc.Msg, error) {
	n := e.net
	if q == nil {
		return kad.Peer{}, nil, errors.New("sim: Call with a nil query")
	}
	if e.isClosed() {
		return kad.Peer{}, nil, ErrClosed
	}
	n.stats.queries.Add(1)
	if q.Q == kad.MethodFindNode {
		n.stats.findNodes.Add(1)
	}
	giveUp := time.Now().Add(n.cfg.Timeout)

	dst := n.Endpoint(addr)
	h := dst.handlerIfUp()
	if e.down.Load() || h == nil {
		n.stats.dead.Add(1)
		return e.noAnswer(ctx, addr, q.Q, giveUp)
	}
	src := e.sourceFor(addr)
	if ok, err := e.admit(ctx, dst, src, addr, giveUp); err != nil {
		return kad.Peer{}, nil, err
	} else if !ok {
		n.stats.filtered.Add(1)
		return e.noAnswer(ctx, addr, q.Q, giveUp)
	}
	// The handshake comes before any query, so a peer that is not the one
	// expected never sees the query.
	if expect != nil && *expect != dst.id {
		return kad.Peer{ID: dst.id, Addr: addr}, nil, &kad.IDMismatchError{Addr: addr, Expected: *expect, Got: dst.id}
	}
	method := q.Q
	query, err := n.transfer(q, krpc.YQuery, strconv.FormatUint(e.txid.Add(1), 16))
	if err != nil {
		return kad.Peer{}, nil, err
	}
	if n.lose() {
		n.stats.lost.Add(1)
		return e.noAnswer(ctx, addr, method, giveUp)
	}
	if err := e.sleep(ctx, n.delay(src, addr)); err != nil {
		return kad.Peer{}, nil, err
	}
	n.stats.delivered.Add(1)
	reply := (*h)(kad.Peer{ID: e.id, Addr: src}, query)
	if reply == nil || n.lose() {
		if reply != nil {
			n.stats.lost.Add(1)
		}
		return e.noAnswer(ctx, addr, method, giveUp)
	}
	y := krpc.YResponse
	if reply.E != nil {
		y = krpc.YError
	}
	reply, err = n.transfer(reply, y, query.T)
	if err != nil {
		return kad.Peer{}, nil, err
	}
	if err := e.sleep(ctx, n.delay(addr, src)); err != nil {
		return kad.Peer{}, nil, err
	}
	e.replied(dst, src, addr)
	n.stats.replies.Add(1)
	if n.anyNAT.Load() {
		n.observeReply(method, reply)
	}
	from := kad.Peer{ID: dst.id, Addr: addr}
	if reply.E != nil {
		return from, reply, reply.E
	}
	return from, reply, nil
}

// handlerIfUp is e's handler when e exists, is live and serves; else nil.
func (e *Endpoint) handlerIfUp() *kad.Handler {
	if e == nil || e.down.Load() || e.isClosed() {
		return nil
	}
	return e.handler.Load()
}

// transfer is what the wire does to a message: it gets its transaction ID
// and type, and the receiver gets its own copy.
func (n *Network) transfer(m *krpc.Msg, y, t string) (*krpc.Msg, error) {
	c := *m
	c.T, c.Y = t, y
	if n.cfg.SkipEncoding {
		return &c, nil
	}
	b, err := kad.EncodeMsg(&c)
	if err != nil {
		return nil, fmt.Errorf("sim: encoding %q message: %w", y, err)
	}
	n.stats.bytes.Add(uint64(len(b)))
	out, err := kad.DecodeMsg(b)
	if err != nil {
		return nil, fmt.Errorf("sim: decoding %q message: %w", y, err)
	}
	return out, nil
}

// noAnswer waits until the caller would give up and reports a timeout the
// way wire does (*kad.RPCTimeoutError), also matching
// context.DeadlineExceeded.
func (e *Endpoint) noAnswer(ctx context.Context, addr netip.AddrPort, method string, giveUp time.Time) (kad.Peer, *krpc.Msg, error) {
	if err := e.sleep(ctx, time.Until(giveUp)); err != nil {
		return kad.Peer{}, nil, err
	}
	e.net.stats.timeouts.Add(1)
	te := &kad.RPCTimeoutError{Addr: addr, Method: method, After: e.net.cfg.Timeout}
	return kad.Peer{}, nil, fmt.Errorf("sim: %w: %w", te, context.DeadlineExceeded)
}

// sleep waits d, rounded up to the network's tick, unless ctx ends or the
// endpoint closes first.
func (e *Endpoint) sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	select {
	case <-e.net.wakes.at(e.net.wakeAt(d)):
		return nil
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			e.net.stats.timeouts.Add(1)
		}
		return fmt.Errorf("sim: call ended: %w", ctx.Err())
	case <-e.closed:
		return ErrClosed
	}
}
