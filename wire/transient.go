package wire

import (
	"context"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/kadnode/kadnode/kad"
)

// noteUse records that a call used session s: a call without the
// transient mark makes the session a lasting one.
func (t *Transport) noteUse(ctx context.Context, s *session) {
	if _, ok := kad.TransientOf(ctx); !ok {
		s.transient.Store(false)
	}
}

// retireWith makes s, which a transient call or Prepare just opened,
// transient, and retires it when scope ends.
func (t *Transport) retireWith(s *session, scope kad.TransientScope) {
	s.transient.Store(true)
	context.AfterFunc(scope.Ctx, func() { t.retire(s, scope.Keep) })
}

// retirement is the end of a transient session's scope, held until the
// session is idle: its handshake over and no call in flight.
type retirement struct {
	keep func(krpc.ID) bool
}

// retire ends the transient life of s once its scope has ended: it
// becomes a lasting session if keep says so, and closes otherwise. Until
// its handshake is over and no call is in flight on it, the retirement
// waits on s (retireIfIdle runs again when either ends); the transient
// idle timeout still applies meanwhile.
func (t *Transport) retire(s *session, keep func(krpc.ID) bool) {
	s.retiring.Store(&retirement{keep: keep})
	t.retireIfIdle(s)
}

// retireIfIdle carries out the retirement waiting on s, if any, once s is
// idle. Whoever takes the retirement (CompareAndSwap) carries it out, so
// it runs once however the end of the scope, of the handshake and of the
// last call interleave.
func (t *Transport) retireIfIdle(s *session) {
	r := s.retiring.Load()
	if r == nil || !isClosed(s.done) || s.inFlight() > 0 || !s.retiring.CompareAndSwap(r, nil) {
		return
	}
	if s.err != nil || !s.transient.Load() {
		return
	}
	if r.keep != nil && r.keep(s.peerID) {
		s.transient.Store(false)
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
