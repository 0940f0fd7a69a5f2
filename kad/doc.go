// Package kad is kadnode's vocabulary: the words every other package
// shares, with no socket, no DTLS and no database behind them, so that the
// node logic and the simulator build without pion or Pebble.
//
// It holds node IDs (krpc.ID, 160 bits), the KRPC messages kadnode sends
// (BEP 5 ping and find_node, BEP 44 get and put, the NAT traversal
// queries) with their strict codec (BEP 5, with BEP 32, 42, 43 and 44
// fields), and one type per idea of "a node somewhere":
//
//   - Endpoint: where an operator says a node is, ID@host:port with the ID
//     optional (--seed, kadnode add);
//   - Peer: an authenticated sender, its ID proven by the DTLS handshake
//     and its address the UDP source;
//   - Contact: a routing-table entry, as the table holds it and a store
//     persists it;
//   - krpc.NodeInfo: a node as a find_node answer carries it.
//
// It also holds the errors a transport reports and a caller tells apart,
// and the records a store persists (Contact, ItemRecord).
package kad
