package wire

import (
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/anacrolix/dht/v2/krpc"
)

// testID returns an ID whose 20 bytes are all b, so it is easy to spot in
// encoded bytes.
func testID(b byte) krpc.ID {
	var id krpc.ID
	for i := range id {
		id[i] = b
	}
	return id
}

// rawID is a 20-byte string for hand-written bencode.
var rawID = strings.Repeat("I", 20)

// testNodes returns n contacts of one address family (4 or 16 bytes of
// address), with distinct IDs, addresses and ports.
func testNodes(n, ipLen int) []krpc.NodeInfo {
	nodes := make([]krpc.NodeInfo, n)
	for i := range nodes {
		ip := make(net.IP, ipLen)
		ip[0] = 10
		if ipLen == net.IPv6len {
			ip[0], ip[1] = 0x20, 0x01 // 2001:db8::/32, documentation
			ip[2], ip[3] = 0x0d, 0xb8
		}
		ip[ipLen-1] = byte(i + 1)
		nodes[i] = krpc.NodeInfo{ID: testID(byte(i + 1)), Addr: krpc.NodeAddr{IP: ip, Port: 4000 + i}}
	}
	return nodes
}

// mustEncode encodes m after giving it a transaction ID, failing the test on
// error.
func mustEncode(t testing.TB, m *krpc.Msg) []byte {
	t.Helper()
	if m.T == "" {
		m.T = "aa"
	}
	b, err := EncodeMsg(m)
	if err != nil {
		t.Fatalf("EncodeMsg(%+v): %v", m, err)
	}
	return b
}

// wantMalformed asserts that err is a *MalformedError, matched by errors.Is
// too, and returns it.
func wantMalformed(t testing.TB, err error) *MalformedError {
	t.Helper()
	var me *MalformedError
	if !errors.As(err, &me) {
		t.Fatalf("error %v (%T) is not a *MalformedError", err, err)
	}
	if !errors.Is(err, ErrMalformed) {
		t.Fatalf("errors.Is(%v, ErrMalformed) is false", err)
	}
	return me
}
