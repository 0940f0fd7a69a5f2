package wire

import "sync/atomic"

// Stats is a snapshot of the transport's counters.
type Stats struct {
	LiveSessions      int
	PendingHandshakes int
	Handshakes        map[string]uint64 // by outcome, see the outcome constants
	// Resumed counts the handshakes among the "ok" ones that resumed a
	// session (tickets.go) instead of running the full exchange.
	Resumed uint64
	// Tickets is how many sessions are kept for resumption, of either
	// role (at most maxTickets).
	Tickets int
	// Prepared counts the handshakes Prepare started ahead of a call, and
	// PreparedUsed those of them that a call then used.
	Prepared, PreparedUsed uint64
	// HeldBeforeCCS counts handshake records that overtook the peer's
	// ChangeCipherSpec on the path and waited for it (holdBeforeCCS).
	HeldBeforeCCS uint64
	Dropped       map[string]uint64 // by reason, see the drop constants
}

// handshakeOutcome is how a handshake ended.
type handshakeOutcome int

const (
	hsOK              handshakeOutcome = iota
	hsFailed                           // any other DTLS failure
	hsTimeout                          // HandshakeTimeout passed
	hsIDMismatch                       // the peer's ID was not the expected one
	hsNetworkMismatch                  // the peer is on another network
	hsLimited                          // refused by a limit before starting
	hsSimultaneous                     // our dial lost the simultaneous-open tie-break
	hsReplaced                         // a newer ClientHello from the same address took over
	hsCookieSent                       // a ClientHello without a valid cookie got a HelloVerifyRequest; nothing kept
	hsProbeTimeout                     // timed out, and only probes (kad.Probe) wanted it
	numOutcomes
)

var outcomeNames = [numOutcomes]string{
	"ok", "failed", "timeout", "id_mismatch", "network_mismatch", "limited", "simultaneous_open", "replaced",
	"cookie_sent", "probe_timeout",
}

// dropReason is why a datagram or message was discarded.
type dropReason int

const (
	dropQueueFull      dropReason = iota // the peer's queue was full
	dropGarbage                          // not DTLS
	dropPlaintext                        // a KRPC message without DTLS
	dropOversize                         // datagram or message over its limit
	dropNoSession                        // a DTLS record from an address with no session
	dropStaleHello                       // a late copy of a ClientHello already handled
	dropMalformed                        // not valid KRPC inside a session
	dropUnknownTxID                      // a response nobody waits for
	dropIDMismatch                       // the message's sender id is not the certificate's
	dropDTLSError                        // pion reported a non-fatal read error
	dropUnexpected                       // a plaintext record for an established session
	dropKernelOverflow                   // the kernel's socket receive buffer was full
	dropReplayed                         // a record pion's replay window refused
	numDropReasons
)

var dropNames = [numDropReasons]string{
	"queue_full", "garbage", "plaintext", "oversize", "no_session", "stale_hello",
	"malformed", "unknown_txid", "id_mismatch", "dtls_error", "unexpected_record",
	"kernel_overflow", "replayed",
}

type counters struct {
	handshakes [numOutcomes]atomic.Uint64
	dropped    [numDropReasons]atomic.Uint64
	resumed    atomic.Uint64
	// prepared and preparedUsed: see Stats.
	prepared, preparedUsed atomic.Uint64
	heldBeforeCCS          atomic.Uint64
}

func (c *counters) handshake(o handshakeOutcome) { c.handshakes[o].Add(1) }
func (c *counters) drop(r dropReason)            { c.dropped[r].Add(1) }
func (c *counters) dropN(r dropReason, n uint64) { c.dropped[r].Add(n) }

// Stats snapshots the counters.
func (t *Transport) Stats() Stats {
	t.mu.Lock()
	s := Stats{LiveSessions: t.live, PendingHandshakes: t.pending, Resumed: t.stats.resumed.Load(),
		// Used first: a handshake is counted as prepared before any call
		// can use it, so Prepared >= PreparedUsed in every snapshot.
		PreparedUsed: t.stats.preparedUsed.Load(), Prepared: t.stats.prepared.Load(),
		HeldBeforeCCS: t.stats.heldBeforeCCS.Load()}
	t.mu.Unlock()
	s.Tickets = t.tickets.len()
	s.Handshakes = make(map[string]uint64, numOutcomes)
	for i := range t.stats.handshakes {
		s.Handshakes[outcomeNames[i]] = t.stats.handshakes[i].Load()
	}
	s.Dropped = make(map[string]uint64, numDropReasons)
	for i := range t.stats.dropped {
		s.Dropped[dropNames[i]] = t.stats.dropped[i].Load()
	}
	return s
}
