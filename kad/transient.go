package kad

import (
	"context"

	"github.com/anacrolix/dht/v2/krpc"
)

// transientKey is the context key of Transient.
type transientKey struct{}

// TransientScope is what Transient puts in a context, for the transport
// to read back with TransientOf.
type TransientScope struct {
	Ctx  context.Context    // the lookup's context: its end retires the session
	Keep func(krpc.ID) bool // whether a session to this peer outlives it
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
//
// A scope that keeps nothing, inside one that keeps nothing, is the
// enclosing one: its sessions close when that ends, so that the calls of
// a longer task (a whole join) meet a peer again over one session.
func Transient(ctx context.Context, keep func(krpc.ID) bool) context.Context {
	if outer, ok := TransientOf(ctx); ok && keep == nil && outer.Keep == nil {
		return ctx
	}
	return context.WithValue(ctx, transientKey{}, TransientScope{Ctx: ctx, Keep: keep})
}

// TransientOf returns the scope Transient put in ctx, if any.
func TransientOf(ctx context.Context) (TransientScope, bool) {
	scope, ok := ctx.Value(transientKey{}).(TransientScope)
	return scope, ok
}

// probeKey is the context key of Probe.
type probeKey struct{}

// Probe marks the calls made with the returned context as probes of an
// address that may well not answer, as a NAT dial-back's is: behind a
// filtering NAT it must not. A handshake that only such calls wanted and
// that times out is counted apart from other timeouts, which keep
// meaning that a peer expected to answer did not.
func Probe(ctx context.Context) context.Context {
	return context.WithValue(ctx, probeKey{}, true)
}

// IsProbe reports whether ctx carries Probe's mark.
func IsProbe(ctx context.Context) bool {
	v, _ := ctx.Value(probeKey{}).(bool)
	return v
}
