package kad

import (
	"net/netip"

	"github.com/anacrolix/dht/v2/krpc"
)

// Peer is an authenticated remote node: its ID comes from the certificate it
// presented in the DTLS handshake and Addr is the UDP source address of the
// session, which the cookie exchange proved reachable.
type Peer struct {
	ID   krpc.ID
	Addr netip.AddrPort
}

// Handler answers one inbound query. It returns the reply (with R or E set;
// the transport fills in T and Y) or nil to send nothing.
type Handler func(from Peer, q *krpc.Msg) *krpc.Msg
