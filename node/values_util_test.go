package node

import (
	"crypto/ed25519"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/anacrolix/dht/v2/bep44"
	"github.com/anacrolix/dht/v2/krpc"
	"github.com/kadnode/kadnode/kad"
)

// testKey is a deterministic Ed25519 key for item tests.
func testKey(i byte) ed25519.PrivateKey {
	seed := make([]byte, ed25519.SeedSize)
	seed[0] = i
	return ed25519.NewKeyFromSeed(seed)
}

// bstr bencodes s as a string.
func bstr(s string) []byte { return fmt.Appendf(nil, "%d:%s", len(s), s) }

// signed makes a mutable item, failing the test on error.
func signed(tb testing.TB, key ed25519.PrivateKey, salt, value string, seq int64) kad.Item {
	tb.Helper()
	it, err := kad.SignedItem(key, []byte(salt), bstr(value), seq)
	if err != nil {
		tb.Fatal(err)
	}
	return it
}

// signRaw signs an item without kad's checks, to build invalid ones.
func signRaw(key ed25519.PrivateKey, salt, value string, seq int64) kad.Item {
	it := kad.Item{V: bstr(value), Salt: []byte(salt), Seq: seq}
	copy(it.K[:], key.Public().(ed25519.PublicKey))
	copy(it.Sig[:], bep44.Sign(key, it.Salt, seq, it.V))
	return it
}

// immutable makes an immutable item, failing the test on error.
func immutable(tb testing.TB, value string) kad.Item {
	tb.Helper()
	it, err := kad.ImmutableItem(bstr(value))
	if err != nil {
		tb.Fatal(err)
	}
	return it
}

// getToken asks n for a write token as caller, through its get handler.
func getToken(tb testing.TB, n *Node, caller kad.Peer, target krpc.ID) string {
	tb.Helper()
	reply := n.handle(caller, kad.GetQuery(caller.ID, target, false))
	if reply == nil || reply.R == nil || reply.R.Token == nil {
		tb.Fatalf("get gave no token: %+v", reply)
	}
	return *reply.R.Token
}

// testCaller is a peer that queries a node directly through its handler.
func testCaller(i byte) kad.Peer {
	id := krpc.RandomNodeID()
	return kad.Peer{ID: id, Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 9, i}), 7000)}
}

// oversize returns a value whose bencoding is exactly n bytes.
func oversize(n int) string {
	for l := n - 2; l > 0; l-- {
		if v := strings.Repeat("x", l); len(bstr(v)) == n {
			return v
		}
	}
	panic("no such size")
}
