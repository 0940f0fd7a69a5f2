package node

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"sync"
	"time"

	"github.com/kadnode/kadnode/kad"
)

// writeTokens issues and checks the write tokens of BEP 44 (BEP 5's
// announce tokens): an HMAC of the caller's node ID and address under a
// secret that changes every TokenRotation, the previous secret still
// accepted. So a put must follow a recent get from the same node and
// address, and nobody can store through an address they do not hold.
type writeTokens struct {
	mu      sync.Mutex
	cur     [32]byte
	prev    [32]byte
	rotated time.Time
}

func (t *writeTokens) init(now time.Time) {
	_, _ = rand.Read(t.cur[:])
	_, _ = rand.Read(t.prev[:])
	t.rotated = now
}

// rotateLocked moves to a new secret when the current one is due.
func (t *writeTokens) rotateLocked(now time.Time) {
	if now.Sub(t.rotated) < TokenRotation {
		return
	}
	t.prev = t.cur
	if now.Sub(t.rotated) >= 2*TokenRotation {
		_, _ = rand.Read(t.prev[:]) // both are stale: no old token stays valid
	}
	_, _ = rand.Read(t.cur[:])
	t.rotated = now
}

// issue returns the token for peer.
func (t *writeTokens) issue(peer kad.Peer, now time.Time) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.rotateLocked(now)
	return string(tokenFor(t.cur, peer))
}

// valid reports whether tok was issued to peer under the current or the
// previous secret.
func (t *writeTokens) valid(peer kad.Peer, tok string, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.rotateLocked(now)
	return hmac.Equal([]byte(tok), tokenFor(t.cur, peer)) || hmac.Equal([]byte(tok), tokenFor(t.prev, peer))
}

func tokenFor(secret [32]byte, peer kad.Peer) []byte {
	mac := hmac.New(sha256.New, secret[:])
	mac.Write(peer.ID[:])
	addr, _ := peer.Addr.MarshalBinary()
	mac.Write(addr)
	return mac.Sum(nil)[:TokenLen]
}
