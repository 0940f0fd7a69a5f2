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

// checkCtx marks the calls made with the returned context as one-shot
// checks: a contact's liveness ping, and the three legs of a reachability
// check (nat_check, nat_dial, nat_nonce). A session such a call opens
// closes as soon as the check is done (kad.Transient, nothing kept): the
// same peer is not checked again for minutes, so keeping the session for
// the idle timeout would only hold its memory and goroutines at both ends.
func checkCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	return kad.Transient(ctx, nil), cancel
}
