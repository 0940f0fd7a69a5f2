package node

import (
	"context"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/kadnode/kadnode/kad"
)

// inTable reports whether id is in the routing table, as a member or a
// replacement: a lookup's session to such a node stays open for its next
// query (kad.Transient).
func (n *Node) inTable(id krpc.ID) bool {
	_, ok := n.table.Get(id)
	return ok
}

// sessionScope marks the calls made with the returned context as passing:
// every session they open closes once cancel has run (inside another
// such scope, once that one ends) and no call is in flight on it
// (kad.Transient, nothing kept). It covers the one-shot
// checks (a contact's liveness ping; nat_check, nat_dial and nat_nonce of
// a reachability check) and the join, whose lookups share the scope so
// that they meet a node again over the session an earlier one opened.
// Nobody queries those peers again for seconds to minutes, so keeping the
// sessions for the idle timeout would only hold their memory and
// goroutines at both ends.
func sessionScope(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	return kad.Transient(ctx, nil), cancel
}
