package node

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/anacrolix/dht/v2/krpc"

	"github.com/kadnode/kadnode/wire"
)

func TestIsTimeoutWithWireErrors(t *testing.T) {
	addr := netip.MustParseAddrPort("127.0.0.1:7000")
	cases := []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("ping %s: %w", addr, &wire.RPCTimeoutError{Addr: addr, Method: "ping", After: time.Second}), true},
		{fmt.Errorf("ping %s: %w", addr, &wire.HandshakeTimeoutError{Addr: addr, After: time.Second}), true},
		{fmt.Errorf("ping %s: %w", addr, context.DeadlineExceeded), true},
		{fmt.Errorf("ping %s: %w", addr, &wire.IDMismatchError{Addr: addr}), false},
		{&krpc.Error{Code: krpc.ErrorCodeProtocolError, Msg: "bad"}, false},
		{context.Canceled, false},
		{errors.New("something else"), false},
	}
	for _, c := range cases {
		if got := isTimeout(c.err); got != c.want {
			t.Errorf("isTimeout(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

// A node whose link goes down must keep its table however many calls
// fail, and use it again once peers answer.
func TestOfflineNodeKeepsItsTable(t *testing.T) {
	fn := newFakeNet()
	cfg := Config{RPCTimeout: 50 * time.Millisecond, RevalidateInterval: time.Hour}
	nodes := fakeNetwork(t, fn, 6, cfg)
	n := nodes[len(nodes)-1]
	before := n.table.Len()
	if before == 0 {
		t.Fatal("the node's table is empty after its join")
	}

	n.tr.down.Store(true) // our own link: every call goes unanswered
	ctx := t.Context()
	var wg sync.WaitGroup
	for range 4 { // bounded: 4×15 failed pings, far past what empties the table
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 15 {
				n.revalidateOldest(ctx)
			}
		}()
	}
	eventually(t, "the node to take itself for offline", n.offline.isOffline)
	evicted := n.Stats().Evictions
	wg.Wait()
	if !n.offline.isOffline() {
		t.Fatal("the node left the offline state though nobody answered")
	}
	if got := n.Stats().Evictions; got != evicted {
		t.Errorf("%d evictions while offline, want none", got-evicted)
	}
	if n.table.Len() == 0 {
		t.Fatalf("the table was emptied while offline (had %d contacts)", before)
	}

	n.tr.down.Store(false)
	eventually(t, "a contact to answer again", func() bool {
		n.revalidateOldest(ctx)
		return !n.offline.isOffline()
	})
	res, err := n.Lookup(ctx, krpc.RandomNodeID())
	if err != nil || res.Stats.Responses == 0 {
		t.Fatalf("lookup after the link came back: %d responses, err %v", res.Stats.Responses, err)
	}
}

// A node whose table went empty joins again through its seed.
func TestEmptyTableRejoins(t *testing.T) {
	fn := newFakeNet()
	nodes := fakeNetwork(t, fn, 4, Config{RevalidateInterval: time.Hour})
	n := nodes[len(nodes)-1]
	for n.table.Len() > 0 {
		for _, c := range n.table.Contacts() {
			n.table.Remove(c.ID)
		}
	}
	eventually(t, "the node to rejoin after its table went empty", func() bool { return n.table.Len() > 0 })
}
