package hostile

import "time"

// Scenario parameters. Sizes have a light default for the regular test
// run and a full one (the figures the hardening work is judged by) when
// EnvHostile is set; EnvPrefix+NAME overrides either.
const (
	// EnvHostile, set to 1, runs every scenario at full size, including
	// the long ones (request load, soak) that are skipped otherwise.
	EnvHostile = "KADNODE_HOSTILE"
	// EnvPrefix prefixes the per-size overrides, e.g.
	// KADNODE_HOSTILE_FLOOD_HELLOS=20000.
	EnvPrefix = "KADNODE_HOSTILE_"

	// networkName is the network every node and attacker of these tests
	// names in its handshake.
	networkName = "hostile"
	// alpnPrefix is what wire puts before the network name in the ALPN
	// protocol; attackers speaking raw DTLS must offer the same.
	alpnPrefix = "kadnode/"

	// waitTimeout bounds every wait on a condition: a hang guard, not a
	// performance threshold.
	waitTimeout = 2 * time.Minute
	// patientRPCTimeout is the RPC timeout of the nodes and peers whose
	// calls must succeed: on two shared cores under the race detector a
	// live peer can take longer than the default second to be scheduled.
	patientRPCTimeout = 10 * time.Second
	// shortHandshakeTimeout replaces the 5 s default where a test waits
	// for half-open handshakes to expire.
	shortHandshakeTimeout = time.Second
	// readBufferSize fits any record (wire's sessions use the same).
	readBufferSize = 8 << 10
	// drainWait is how long a drain waits for one more datagram that is
	// already queued on loopback; everything a node sent before the
	// condition that precedes a drain is in the socket buffer by then.
	drainWait = 50 * time.Millisecond
	// sampleInterval is how often a scenario samples heap and counters.
	sampleInterval = 50 * time.Millisecond
	// helloRandomOffset is where ClientHello.random starts in a datagram
	// holding one unfragmented ClientHello: record header (13), handshake
	// header (12), client_version (2).
	helloRandomOffset = 13 + 12 + 2
)

// Address blocks of the attackers and helpers, all in 127.0.0.0/8 (the
// harness's nodes use 127.1.0.0/16). Each block is the third octet of
// 127.0.<block>.<host>.
const (
	blockSpoof    = 0  // rogue peers of the spoofing and amplification tests
	blockFlood    = 1  // handshake flood sources
	blockLegit    = 2  // the legitimate peers beside a flood or load
	blockPoison   = 3  // the poisoning identities: one /24
	blockLoad     = 4  // request-load clients
	blockHonest   = 10 // long-lived honest peers, one /24 each from here
	maxHostsBlock = 250
)
