// Package kadtest makes the node IDs and contacts that tests of kad and
// of the packages above it write by hand. It imports only krpc, so that
// package kad's own tests can use it.
package kadtest

import (
	"net"
	"strings"

	"github.com/anacrolix/dht/v2/krpc"
)

// ID returns an ID whose 20 bytes are all b, so it is easy to spot in
// encoded bytes.
func ID(b byte) krpc.ID {
	var id krpc.ID
	for i := range id {
		id[i] = b
	}
	return id
}

// RawID is a 20-byte string for hand-written bencode.
var RawID = strings.Repeat("I", 20)

// Nodes returns n contacts of one address family (4 or 16 bytes of
// address), with distinct IDs, addresses and ports.
func Nodes(n, ipLen int) []krpc.NodeInfo {
	nodes := make([]krpc.NodeInfo, n)
	for i := range nodes {
		ip := make(net.IP, ipLen)
		ip[0] = 10
		if ipLen == net.IPv6len {
			ip[0], ip[1] = 0x20, 0x01 // 2001:db8::/32, documentation
			ip[2], ip[3] = 0x0d, 0xb8
		}
		ip[ipLen-1] = byte(i + 1)
		nodes[i] = krpc.NodeInfo{ID: ID(byte(i + 1)), Addr: krpc.NodeAddr{IP: ip, Port: 4000 + i}}
	}
	return nodes
}
