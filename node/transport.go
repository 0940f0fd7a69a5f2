package node

import (
	"context"
	"net/netip"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/kadnode/kadnode/kad"
)

// Transport is everything node needs from the network. wire implements it
// over DTLS; testnet/sim implements it in memory.
type Transport interface {
	// Call sends query q to addr and waits for the matching response. When
	// expect is non-nil the peer must authenticate as that ID. The returned
	// Peer is who actually answered. A KRPC error reply is returned as a
	// *krpc.Error error together with the message.
	Call(ctx context.Context, addr netip.AddrPort, expect *krpc.ID, q *krpc.Msg) (kad.Peer, *krpc.Msg, error)
	// Serve installs the handler for inbound queries. It must be called
	// before the first query can arrive to be answered.
	Serve(h kad.Handler)
	// LocalID is this node's ID.
	LocalID() krpc.ID
	// LocalAddr is the bound UDP address.
	LocalAddr() netip.AddrPort
	// Close stops all goroutines of the transport.
	Close() error
}
