package node

import "context"

// callCtx is the context of the lookup's query to c. Unless c is in the
// table it is marked transient (wire.Transient): a session opened only
// for this lookup closes when the lookup ends, not after the idle timeout
// that keeps a table member's session open for its next query.
func (l *lookup) callCtx(c *candidate) context.Context {
	if _, ok := l.n.table.Get(c.id); ok {
		return l.ctx
	}
	return l.transient
}
