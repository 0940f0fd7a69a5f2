package wire

import (
	"context"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/kadnode/kadnode/kad"
)

// noteUse records how a call used session s; fresh is true when the call
// opened it.
func (t *Transport) noteUse(ctx context.Context, s *session, fresh bool) {
	scope, ok := kad.TransientOf(ctx)
	if !ok {
		s.transient.Store(false)
		return
	}
	if fresh && s.client {
		t.retireWith(s, scope)
	}
}

// retireWith makes s transient and retires it when scope ends. A session
// still in its handshake then (one Prepare opened) is left to the
// transient idle timeout: its peer's ID is not known yet.
func (t *Transport) retireWith(s *session, scope kad.TransientScope) {
	s.transient.Store(true)
	context.AfterFunc(scope.Ctx, func() {
		if isClosed(s.done) && s.err == nil {
			t.retire(s, scope.Keep)
		}
	})
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
