package wire

import (
	"time"

	"github.com/kadnode/kadnode/kad"
	"github.com/pion/dtls/v2/pkg/crypto/elliptic"
)

// KeyFileName is the node key's file name inside the data dir.
const KeyFileName = "node.key"

// Transport defaults; a zero field of Config takes these.
const (
	// DefaultNetwork is the network name used when Config.Network is empty.
	DefaultNetwork = "kadnode"
	// DefaultHandshakeTimeout bounds one DTLS handshake: pion holds ~36 KB
	// and 4 goroutines per half-open handshake, so it must stay short.
	DefaultHandshakeTimeout = 5 * time.Second
	// DefaultIdleTimeout is how long an unused session lives before the
	// reaper closes it (a vanished peer gives no other signal). A session
	// holds about 25 KB of heap and 4 goroutines, and a DHT node talks to a
	// peer in bursts (one lookup, one liveness ping) minutes apart, so idle
	// sessions are closed soon: at rest a node keeps only its busy ones.
	DefaultIdleTimeout = 30 * time.Second
	// DefaultTransientIdleTimeout is the idle timeout of a session only
	// lookups to nodes outside the table used: a lookup is over within
	// seconds, and such a node is rarely called again soon.
	DefaultTransientIdleTimeout = 5 * time.Second
	// DefaultPrepareMinRTT is the round-trip floor (rttFloor) from which
	// Prepare starts handshakes. A full handshake costs about 0.4 ms of CPU
	// across both ends and two round trips: where a round trip costs less
	// than this (loopback, a LAN), its CPU dominates, and handshakes
	// prepared for candidates that may never be queried only add work
	// (18-37% more handshakes in bench-compare on loopback).
	DefaultPrepareMinRTT = 2 * time.Millisecond
	// rttFloorWindow is how many query round trips a floor covers at
	// least: a path that got slower shows within two windows.
	rttFloorWindow = 128
	// DefaultRPCTimeout is how long a call waits for its response.
	DefaultRPCTimeout = time.Second
	// DefaultMaxSessions caps established sessions; beyond it the least
	// recently used idle session is closed to make room. A busy node (a
	// seed) serves hundreds of peers at once, and a session closed under
	// a peer that still queries costs it a timeout and a new handshake;
	// at rest the idle timeout, not this cap, keeps the count low.
	DefaultMaxSessions = 1024
	// DefaultMaxPendingHandshakes caps handshakes in progress.
	DefaultMaxPendingHandshakes = 128
	// DefaultHandshakesPerIPPerSecond rate-limits new inbound handshakes per
	// source IP; the burst is twice the rate.
	DefaultHandshakesPerIPPerSecond = 20
	// DefaultPeerQueueLen is the number of datagrams queued per peer before
	// the read loop drops (it never blocks).
	DefaultPeerQueueLen = 64
	// DefaultSocketBuffer is the kernel receive and send buffer asked for
	// the socket: Linux's default (~208 KiB) overflows under a burst of a
	// few hundred clients, and each datagram lost there costs a timeout.
	DefaultSocketBuffer = 4 << 20
)

// Wire limits of the transport.
const (
	// maxDatagramSize is the largest datagram handed to DTLS; anything
	// bigger is dropped as oversize before any parsing.
	maxDatagramSize = 1500
	// socketReadBufferSize is the read loop's buffer: bigger than any
	// accepted datagram, so truncation shows up as oversize.
	socketReadBufferSize = 8 << 10
	// sessionReadBufferSize is the buffer a session reads records into:
	// pion's Conn.Read loses a record that does not fit, and no valid
	// message is longer than MaxMessageSize. One per live session.
	sessionReadBufferSize = 2 << 10
	// dtlsMTU is the MTU pion fragments handshake flights to.
	dtlsMTU = 1200
	// alpnPrefix prefixes the network name in the ALPN protocol offered in
	// the handshake, so nodes of different networks refuse each other.
	alpnPrefix = "kadnode/"
	// helloCookieLen is the length of the mux's cookie (a truncated
	// HMAC-SHA256); it differs from pion's 20 bytes, so a client tells a
	// node's HelloVerifyRequest from a standard one.
	helloCookieLen = 32
	// cookieSecretLen is the size of the secret the cookies are made with.
	cookieSecretLen = 32
	// cookieSecretLifetime is how often that secret changes; the previous
	// one is still accepted, so a client has at least this long to echo.
	cookieSecretLifetime = 30 * time.Second
	// txIDLen is the length of the transaction IDs this node generates.
	txIDLen = 4
	// pionReplayLog is the format of pion's (v2.2.12) debug log line for a
	// record its replay window dropped; it is how those drops are counted.
	pionReplayLog = "discarded duplicated packet (epoch: %d, seq: %d)"
)

// DTLS record layout, as far as the demultiplexer reads it (RFC 6347 4.1
// and 4.2.2).
const (
	recordHeaderLen         = 13   // type, version, epoch, sequence, length
	handshakeHeaderLen      = 12   // type, length, message_seq, fragment offset and length
	helloRandomLen          = 32   // ClientHello.random
	dtlsVersionMajor        = 0xfe // every DTLS version starts with 0xfe
	contentChangeCipherSpec = 20
	contentAlert            = 21
	contentHandshake        = 22
	contentApplicationData  = 23
	handshakeClientHello    = 1
)

// A session's read buffer must hold the largest valid message; this fails
// to compile otherwise.
var _ [sessionReadBufferSize - kad.MaxMessageSize]struct{}

// Identity proof and session resumption (proof.go, tickets.go).
const (
	// proofMagic starts a client's identity proof; a KRPC message starts
	// with 'd', so the two never mix.
	proofMagic = "kadP"
	// proofLen is the length of a proof: magic, Ed25519 public key and
	// signature.
	proofLen = len(proofMagic) + 32 + 64
	// proofLabel is the RFC 5705 exporter label of the keying material a
	// proof signs.
	proofLabel = "EXPORTER-kadnode-identity-proof"
	// proofKeyingMaterialLen is how much keying material a proof signs.
	proofKeyingMaterialLen = 32
	// ticketLifetime is how long a session can be resumed after its full
	// handshake: a DHT node meets the same peers again within minutes to
	// hours (lookups near its ID, refreshes), and RFC 5246 advises at most
	// a day.
	ticketLifetime = time.Hour
	// maxEarlyRecords bounds the application-data records the mux holds
	// for a server handshake that pion has not finished (holdEarly): the
	// proof and the first few queries of a client that finished first;
	// and the handshake records that overtook the peer's ChangeCipherSpec
	// (holdBeforeCCS).
	maxEarlyRecords = 8
	// maxFlightResends bounds how often the mux sends a client's last
	// handshake flight again for one session (resendLastFlight).
	maxFlightResends = 4
	// maxTickets bounds the store of resumable sessions, one per full
	// handshake in either role; an entry is about 300 bytes.
	maxTickets = 8192
)

// A session's read buffer must also hold a proof in front of the largest
// message.
var _ [sessionReadBufferSize - kad.MaxMessageSize - proofLen]struct{}

// keyExchangeCurves are the ECDHE groups a node offers, most preferred
// first; a pion server takes the client's first. P-256 comes first because
// Go's P-256 has a precomputed base table and assembly: a full handshake
// costs about 16% less CPU than with X25519 (BENCHMARKS.md). X25519 stays
// for peers that offer only it.
var keyExchangeCurves = []elliptic.Curve{elliptic.P256, elliptic.X25519}
