package node

import "github.com/anacrolix/dht/v2/krpc"

// inTable reports whether id is in the routing table, as a member or a
// replacement: a lookup's session to such a node stays open for its next
// query (kad.Transient).
func (n *Node) inTable(id krpc.ID) bool {
	_, ok := n.table.Get(id)
	return ok
}
