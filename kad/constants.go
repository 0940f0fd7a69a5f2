package kad

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
