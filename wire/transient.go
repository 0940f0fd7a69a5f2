package wire

import "context"

// transientKey is the context key of Transient.
type transientKey struct{}

// Transient marks the calls made with the returned context (or one derived
// from it) as passing: a lookup's queries to nodes that are not in the
// routing table. A session such a call opens closes once ctx ends and it
// has no call in flight, or after TransientIdleTimeout without use,
// whichever comes first, instead of holding ~25 KB and 4 goroutines for
// IdleTimeout. A call without the mark on the same session makes it a
// lasting one; a session that existed before is never shortened.
func Transient(ctx context.Context) context.Context {
	return context.WithValue(ctx, transientKey{}, ctx)
}

// noteUse records how a call used session s; fresh is true when the call
// opened it.
func (t *Transport) noteUse(ctx context.Context, s *session, fresh bool) {
	scope, ok := ctx.Value(transientKey{}).(context.Context)
	if !ok {
		s.transient.Store(false)
		return
	}
	if fresh && s.client {
		s.transient.Store(true)
		context.AfterFunc(scope, func() { t.retire(s) })
	}
}

// retire closes transient session s when no call is in flight on it.
func (t *Transport) retire(s *session) {
	if !s.transient.Load() || s.inFlight() > 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return
	}
	if sl := t.peers[s.addr]; sl == nil || sl.est != s {
		return
	}
	// A call that took s just before is retried on a new session, as
	// when s is replaced.
	s.replaced.Store(true)
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
