package store

import (
	"github.com/anacrolix/dht/v2/krpc"
	"github.com/kadnode/kadnode/kad"
)

// touchSet holds the newest pending last-seen update of each contact. The
// contacts sit in a slice with a map from ID to position, because a map
// whose values are as large as a Contact stores each value out of line: one
// allocation per insert on the hottest path of the node.
type touchSet struct {
	index map[krpc.ID]int
	list  []kad.Contact
}

func newTouchSet() touchSet { return touchSet{index: make(map[krpc.ID]int)} }

// put records c, reporting whether it replaced a pending update.
func (ts *touchSet) put(c kad.Contact) (replaced bool) {
	if i, ok := ts.index[c.ID]; ok {
		ts.list[i] = c
		return true
	}
	ts.index[c.ID] = len(ts.list)
	ts.list = append(ts.list, c)
	return false
}

// drop forgets the pending update of id, reporting whether there was one.
func (ts *touchSet) drop(id krpc.ID) bool {
	i, ok := ts.index[id]
	if !ok {
		return false
	}
	delete(ts.index, id)
	last := len(ts.list) - 1
	if i != last {
		ts.list[i] = ts.list[last]
		ts.index[ts.list[i].ID] = i
	}
	ts.list = ts.list[:last]
	return true
}

func (ts *touchSet) len() int { return len(ts.list) }

// reset empties the set, keeping its memory for the next interval.
func (ts *touchSet) reset() {
	clear(ts.index)
	ts.list = ts.list[:0]
}
