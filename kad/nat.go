package kad

import (
	"net/netip"

	"github.com/anacrolix/dht/v2/krpc"
)

// NAT traversal messages. They reuse KRPC's fields, so every peer parses
// them with the same strict decoder:
//
//   - nat_register {id}: the caller sits behind a NAT and asks the callee
//     to keep it as a rendezvous client; sent again as the keepalive.
//   - nat_connect {id, target, want}: the caller wants to reach the
//     client "target"; the callee relays a nat_punch and answers with the
//     target's observed address in "nodes". NATPortUnsure in "want" is
//     passed on in the nat_punch.
//   - nat_punch {id, target, want} "ip": the callee should dial "ip", the
//     requester's address as the relaying node observed it, expecting
//     the ID "target".
//   - nat_check {id, target}: "target" is a nonce; the callee asks a third
//     node to dial the caller's observed address with it (nat_dial).
//   - nat_dial {id, target} "ip": the callee dials "ip" and sends the
//     nonce "target" in a nat_nonce.
//   - nat_nonce {id, target}: the dial-back, carrying the nonce.
//
// A contact that needs a rendezvous appears in a find_node answer with
// port 0: peers without the extension drop it (no node listens on port
// 0), and the asker knows to send nat_connect to the node that answered.

// NATPortUnsure, in the "want" list of nat_connect and of the nat_punch
// relayed for it, says that the requester does not know its NAT to keep
// one port for every destination (it found a symmetric NAT, or has not
// classified itself yet): then a punch can fail through no fault of the
// target, which must not hold it against itself. Peers without it ignore
// the string, as BEP 32 asks of unknown "want" entries.
const NATPortUnsure krpc.Want = "nat_port_unsure"

// NATMethod reports whether q is one of the NAT traversal queries.
func NATMethod(q string) bool {
	switch q {
	case MethodNATRegister, MethodNATConnect, MethodNATPunch, MethodNATCheck, MethodNATDial, MethodNATNonce:
		return true
	}
	return false
}

// NATQuery builds a NAT traversal query: target is the ID or nonce the
// method takes (zero for nat_register), addr the address a nat_punch or
// nat_dial names (invalid for the others). Like every query of a node
// that may sit behind a NAT, it carries ro (see PingQuery).
func NATQuery(method string, self, target krpc.ID, addr netip.AddrPort, ro bool) *krpc.Msg {
	return &krpc.Msg{Y: krpc.YQuery, Q: method, A: &krpc.MsgArgs{ID: self, Target: target}, IP: nodeAddr(addr), ReadOnly: ro}
}

// NATConnectReply answers nat_connect with the target's observed address.
func NATConnectReply(self krpc.ID, caller netip.AddrPort, target krpc.ID, addr netip.AddrPort) *krpc.Msg {
	ni := krpc.NodeInfo{ID: target, Addr: nodeAddr(addr)}
	return FindNodeReply(self, caller, []krpc.NodeInfo{ni})
}
