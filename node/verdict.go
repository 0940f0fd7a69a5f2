package node

import (
	"context"
	"errors"
	"sync"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/kadnode/kadnode/kad"
)

// verdicts tracks the contacts whose last allowed failure is being checked
// before they are evicted: an eviction must mean the peer is gone, and on
// a real network a few lost datagrams in a row (or a handshake that
// crossed another) fail calls to a live peer. One verdict per contact runs
// at a time; further failures of that contact wait for it.
type verdicts struct {
	mu      sync.Mutex
	pending map[krpc.ID]struct{}
	closed  bool
}

// start claims the verdict on id and adds it to wg; false when one is
// already running or the node is closing.
func (v *verdicts) start(id krpc.ID, wg *sync.WaitGroup) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return false
	}
	if _, busy := v.pending[id]; busy {
		return false
	}
	if v.pending == nil {
		v.pending = make(map[krpc.ID]struct{})
	}
	v.pending[id] = struct{}{}
	wg.Add(1) // under mu, so never after close's Wait began
	return true
}

func (v *verdicts) end(id krpc.ID) {
	v.mu.Lock()
	defer v.mu.Unlock()
	delete(v.pending, id)
}

// close refuses new verdicts; the node then waits for the running ones.
func (v *verdicts) close() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.closed = true
}

// failed tells the table that a query to id failed, unless the peer did
// answer (with a KRPC error: it is alive), we gave up on it ourselves, or
// this node seems offline (the failure is ours, not the peer's). The
// failure that would evict a contact first gets a verdict: EvictionProbes
// pings in the background, and any answer keeps the contact.
func (n *Node) failed(ctx context.Context, id krpc.ID, err error) {
	var kerr *krpc.Error
	if ctx.Err() != nil || errors.As(err, &kerr) || n.seemsOffline(id) {
		return
	}
	c, ok := n.table.Get(id)
	if !ok {
		return
	}
	if c.Failures+1 < n.cfg.MaxFailures {
		n.table.Failed(id)
		return
	}
	if !n.verdicts.start(id, &n.wg) {
		return // a verdict on id is already out, or we are closing
	}
	go func() {
		defer n.wg.Done()
		defer n.verdicts.end(id)
		peer, err := n.confirmAlive(n.ctx, c)
		switch {
		case err == nil:
			n.table.Responded(peer)
		case n.ctx.Err() != nil || errors.Is(err, errOffline):
			// Closing, or our own link is down: says nothing about c.
		default:
			n.table.Failed(id)
		}
	}()
}

// confirmAlive pings c up to EvictionProbes times, one after the other,
// and returns as soon as it answers. Its error, when all went unanswered,
// wraps errOffline if this node seems offline meanwhile.
func (n *Node) confirmAlive(ctx context.Context, c kad.Contact) (kad.Peer, error) {
	ctx, done := sessionScope(ctx)
	defer done()
	var err error
	for range EvictionProbes {
		var peer kad.Peer
		peer, _, err = n.pingAddr(ctx, c.Addr, &c.ID)
		var kerr *krpc.Error
		if err == nil || errors.As(err, &kerr) {
			return peer, nil // an error reply is an answer too
		}
		if ctx.Err() != nil {
			return kad.Peer{}, err
		}
		if n.seemsOffline(c.ID) {
			return kad.Peer{}, errors.Join(errOffline, err)
		}
	}
	return kad.Peer{}, err
}
