package wire

import "time"

// KeyFileName is the node key's file name inside the data dir.
const KeyFileName = "node.key"

// KRPC codec.
const (
	// MaxMessageSize bounds an encoded KRPC message, so that one message and
	// the DTLS record around it fit in a 1,280-byte IPv6 minimum MTU datagram.
	MaxMessageSize = 1100

	// MaxTransactionIDLen bounds the "t" field; BEP 5 needs 2 bytes, and a
	// long one is more likely garbage than a real transaction.
	MaxTransactionIDLen = 8

	// maxBencodeDepth bounds nesting in a decoded message; KRPC needs 3
	// levels, the rest is room for extensions.
	maxBencodeDepth = 16

	// compactIPv4NodeLen and compactIPv6NodeLen are the sizes of one entry of
	// "nodes" (BEP 5) and "nodes6" (BEP 32): 20-byte ID, address, port.
	compactIPv4NodeLen = 20 + 4 + 2
	compactIPv6NodeLen = 20 + 16 + 2

	// MethodPing and MethodFindNode are the KRPC queries kadnode answers.
	MethodPing     = "ping"
	MethodFindNode = "find_node"

	// NAT traversal queries (kadnode's own; see nat.go).
	MethodNATRegister = "nat_register" // keep me as a rendezvous client
	MethodNATConnect  = "nat_connect"  // relay a punch to "target" for me
	MethodNATPunch    = "nat_punch"    // dial the requester at "ip" now
	MethodNATCheck    = "nat_check"    // have someone I never contacted dial me
	MethodNATDial     = "nat_dial"     // dial "ip" with nonce "target"
	MethodNATNonce    = "nat_nonce"    // the dial-back itself, nonce in "target"
)

// BEP 44 (values).
const (
	// MethodGet and MethodPut read and store an item (BEP 44).
	MethodGet = "get"
	MethodPut = "put"
	// MaxValueSize bounds an item's bencoded value (BEP 44: 1,000 bytes).
	MaxValueSize = 1000
	// MaxSaltSize bounds a mutable item's salt (BEP 44: 64 bytes).
	MaxSaltSize = 64
	// MaxValueMessageSize bounds a message that carries a value: a put
	// with a 1,000-byte value, key, signature and 64-byte salt needs about
	// 1,250 bytes, more than MaxMessageSize. 1,400 bytes plus DTLS and UDP
	// headers still fit a 1,500-byte Ethernet MTU (not IPv6's 1,280).
	MaxValueMessageSize = 1400
	// MaxTokenLen bounds a write token; kadnode's are 8 bytes, BEP 5's
	// usual ones 4 to 20.
	MaxTokenLen = 32
)

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
var _ [sessionReadBufferSize - MaxMessageSize]struct{}
