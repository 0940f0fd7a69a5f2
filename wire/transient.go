package wire

import (
	"context"

	"github.com/anacrolix/dht/v2/krpc"
)

// transientKey is the context key of Transient.
type transientKey struct{}

// transientScope is what Transient puts in a context.
type transientScope struct {
	ctx  context.Context
	keep func(krpc.ID) bool
}

// Transient marks the calls made with the returned context (or one derived
// from it) as passing, as a lookup's queries are. A session such a call
// opens is kept, once ctx ends, only if keep reports its peer's ID (a
// member of the caller's routing table) and otherwise closes as soon as
// no call is in flight on it; until then it closes after
// TransientIdleTimeout without use instead of IdleTimeout. A session that
// existed before the call is never shortened, and a call without the mark
// makes a transient session lasting. keep runs on a goroutine of its own,
// with no lock of the transport held.
func Transient(ctx context.Context, keep func(krpc.ID) bool) context.Context {
	return context.WithValue(ctx, transientKey{}, transientScope{ctx: ctx, keep: keep})
}

// noteUse records how a call used session s; fresh is true when the call
// opened it.
func (t *Transport) noteUse(ctx context.Context, s *session, fresh bool) {
	scope, ok := ctx.Value(transientKey{}).(transientScope)
	if !ok {
		s.transient.Store(false)
		return
	}
	if fresh && s.client {
		s.transient.Store(true)
		context.AfterFunc(scope.ctx, func() { t.retire(s, scope.keep) })
	}
}

// retire ends the transient life of s: it becomes a lasting session if
// keep says so, and closes otherwise, unless a call is in flight on it.
func (t *Transport) retire(s *session, keep func(krpc.ID) bool) {
	if !s.transient.Load() {
		return
	}
	if keep != nil && keep(s.peerID) {
		s.transient.Store(false)
		return
	}
	if s.inFlight() > 0 {
		return // the short idle timeout still applies
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return
	}
	if sl := t.peers[s.addr]; sl == nil || sl.est != s {
		return
	}
	// A call that took s just before is retried on a new session: Call
	// retries any call whose session closes under it.
	t.closeAsync(s)
}

// idleCutoff is the last-use time before which s counts as idle, in unix
// nanoseconds, for the reaper's now.
func (s *session) idleCutoff(now int64) int64 {
	if s.transient.Load() {
		return now - int64(s.t.cfg.TransientIdleTimeout)
	}
	return now - int64(s.t.cfg.IdleTimeout)
}
