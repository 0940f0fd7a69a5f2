package kad

import (
	"net"
	"net/netip"

	"github.com/anacrolix/dht/v2/krpc"
)

// Builders for the messages kadnode sends. They leave "t" empty: the
// transport sets it when it sends a query or answers one.

// PingQuery asks a node for its ID. ro marks the caller read-only (BEP
// 43): the callee must not add it to its table.
func PingQuery(self krpc.ID, ro bool) *krpc.Msg {
	return &krpc.Msg{Y: krpc.YQuery, Q: MethodPing, A: &krpc.MsgArgs{ID: self}, ReadOnly: ro}
}

// FindNodeQuery asks a node for the contacts it knows closest to target.
// An all-zero target cannot be sent (the encoder omits zero IDs), and
// EncodeMsg refuses it.
func FindNodeQuery(self, target krpc.ID, ro bool) *krpc.Msg {
	return &krpc.Msg{Y: krpc.YQuery, Q: MethodFindNode, A: &krpc.MsgArgs{ID: self, Target: target}, ReadOnly: ro}
}

// PingReply answers a ping. caller is the query's UDP source, returned in
// "ip" (BEP 42's field) so a node behind a NAT learns how it is seen.
func PingReply(self krpc.ID, caller netip.AddrPort) *krpc.Msg {
	return &krpc.Msg{Y: krpc.YResponse, R: &krpc.Return{ID: self}, IP: nodeAddr(caller)}
}

// FindNodeReply answers find_node with nodes, closest first: IPv4 contacts
// go into "nodes", IPv6 ones into "nodes6", and others are skipped.
//
// k=20 contacts of one family always fit in MaxMessageSize (20*26 or 20*38
// bytes plus about 90 of envelope), but 20 of each do not (over 1,300
// bytes). The reply therefore keeps the longest prefix of nodes that fits
// with the longest transaction ID, dropping the farthest contacts. The
// budget has no room for other fields: a caller that adds "v" or an
// extension field may get a *MessageTooLargeError from EncodeMsg.
func FindNodeReply(self krpc.ID, caller netip.AddrPort, nodes []krpc.NodeInfo) *krpc.Msg {
	m := PingReply(self, caller)
	var n4, n6 int
	for _, n := range nodes {
		if n.Addr.IP.To4() != nil {
			n4++
		} else if len(n.Addr.IP) == net.IPv6len {
			n6++
		}
	}
	ipLen := len(m.IP.IP)
	for findNodeReplySize(ipLen, n4, n6) > MaxMessageSize {
		// Take back the farthest node, whichever family it is.
		last := nodes[len(nodes)-1]
		nodes = nodes[:len(nodes)-1]
		if last.Addr.IP.To4() != nil {
			n4--
		} else if len(last.Addr.IP) == net.IPv6len {
			n6--
		}
	}
	if n4 > 0 {
		m.R.Nodes = make(krpc.CompactIPv4NodeInfo, 0, n4)
	}
	if n6 > 0 {
		m.R.Nodes6 = make(krpc.CompactIPv6NodeInfo, 0, n6)
	}
	for _, n := range nodes {
		if ip4 := n.Addr.IP.To4(); ip4 != nil {
			n.Addr.IP = ip4
			m.R.Nodes = append(m.R.Nodes, n)
		} else if len(n.Addr.IP) == net.IPv6len {
			m.R.Nodes6 = append(m.R.Nodes6, n)
		}
	}
	return m
}

// ErrorReply answers a query with a KRPC error, e.g.
// krpc.ErrorCodeMethodUnknown for a method KnownMethod rejects.
func ErrorReply(code int, msg string) *krpc.Msg {
	return &krpc.Msg{Y: krpc.YError, E: &krpc.Error{Code: code, Msg: msg}}
}

// nodeAddr converts an address for the "ip" field; an IPv4-mapped IPv6
// address (as a dual-stack socket reports IPv4 peers) becomes plain IPv4.
func nodeAddr(ap netip.AddrPort) krpc.NodeAddr {
	if !ap.IsValid() {
		return krpc.NodeAddr{}
	}
	return krpc.NodeAddr{IP: ap.Addr().Unmap().AsSlice(), Port: int(ap.Port())}
}

// findNodeReplySize is the encoded size of a find_node reply with n4 IPv4
// and n6 IPv6 contacts, an "ip" of ipLen address bytes (0 for none) and a
// transaction ID of the longest allowed length.
func findNodeReplySize(ipLen, n4, n6 int) int {
	size := len("d") +
		bencodedLen(len("r")) + len("d") + bencodedLen(len("id")) + bencodedLen(len(krpc.ID{})) + len("e") +
		bencodedLen(len("t")) + bencodedLen(MaxTransactionIDLen) +
		bencodedLen(len("y")) + bencodedLen(len(krpc.YResponse)) +
		len("e")
	if ipLen > 0 {
		size += bencodedLen(len("ip")) + bencodedLen(ipLen+2)
	}
	if n4 > 0 {
		size += bencodedLen(len("nodes")) + bencodedLen(n4*compactIPv4NodeLen)
	}
	if n6 > 0 {
		size += bencodedLen(len("nodes6")) + bencodedLen(n6*compactIPv6NodeLen)
	}
	return size
}

// bencodedLen is the encoded length of an n-byte bencode string. It
// counts the length's digits instead of formatting them, which would
// allocate on every find_node reply.
func bencodedLen(n int) int {
	digits := 1
	for v := n; v >= 10; v /= 10 {
		digits++
	}
	return digits + 1 + n
}
