package wire

import (
	"testing"
)

// TestHasSession: true once a call established a session, false for an
// address never called and after the session closed.
func TestHasSession(t *testing.T) {
	a, b := newTestNode(t, nil), newTestNode(t, nil)
	if a.HasSession(b.LocalAddr()) {
		t.Fatal("session reported before any call")
	}
	a.ping(t, b, nil)
	if !a.HasSession(b.LocalAddr()) {
		t.Fatal("no session reported after a call")
	}
	a.closeSessions()
	if a.HasSession(b.LocalAddr()) {
		t.Fatal("session reported after it closed")
	}
}
