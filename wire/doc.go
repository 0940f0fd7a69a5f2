// Package wire is kadnode's secure channel: the node identity (an
// Ed25519 key whose certificate's SubjectPublicKeyInfo hash is the 160-bit
// node ID) and Transport, one UDP socket that is DTLS 1.2 client and
// server at once. The messages it carries, their codec and the errors it
// reports are package kad's.
//
// Transport's read loop is the only reader of the socket. It routes each
// datagram by source address to that peer's session, and never blocks on
// one. Each session runs its pion/dtls handshake and then reads records on
// its own goroutine. The mux settles simultaneous opens and peer restarts,
// which plain pion does not, and applies the handshake limits. The server
// shows its certificate; the client proves its key in its first record
// (proof.go), so that sessions can be resumed with peers met before
// (tickets.go). A query reaches the Handler only after the handshake and
// that proof, with the ID proven on the session and the address from the
// UDP source. Call opens or
// reuses a session, waits at most the RPC timeout, and redials once when a
// silent session suggests the peer restarted.
//
// Transport.mu guards the peer slots and counts. It is never held while
// pion runs. Close stops every goroutine the transport started.
package wire
