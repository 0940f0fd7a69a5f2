package main

import "time"

// Parameters of the comparison. Flags override the ones that size a run;
// the rest are fixed so that both systems are measured the same way.
const (
	// benchNetwork is the DTLS network name the kadnode side uses.
	benchNetwork = "kadnode-bench"
	// anacrolixK is anacrolix/dht's bucket size and traversal K, fixed in v2.23.0.
	anacrolixK = 8
	// anacrolixAlpha is anacrolix/dht's traversal concurrency (its default).
	anacrolixAlpha = 3
	// kadnodeAlpha is the α both kadnode rows use, the same as anacrolix.
	kadnodeAlpha = 3

	// joinTimeout bounds one node's join.
	joinTimeout = 30 * time.Second
	// lookupTimeout bounds one lookup.
	lookupTimeout = 30 * time.Second
	// pingWindow is how many pings the anacrolix post-join ping round keeps in flight.
	pingWindow = 64

	// findableRounds bounds how many times every node retries the lookup of
	// a newly joined node before it is counted as not findable.
	findableRounds = 3
	// findableWindow is how many of those lookups run at once.
	findableWindow = 8
	// findableTimeout bounds the whole findability measurement.
	findableTimeout = 3 * time.Minute

	// answerCallTimeout is how long a load client waits for one answer
	// before it counts the query as lost and sends the next.
	answerCallTimeout = 250 * time.Millisecond
	// answerMaxPerRun bounds the queries of one load run, whatever its duration.
	answerMaxPerRun = 5_000_000
	// restSlack is how long past the transport's idle timeout the at-rest
	// memory is taken, so that the reaper has run.
	restSlack = 5 * time.Second
	// delayLineMaxQueued bounds the datagrams held on the -delay line;
	// beyond it they are dropped, as by a full router queue.
	delayLineMaxQueued = 1 << 18
	// udpReadBuffer is large enough for any KRPC datagram.
	udpReadBuffer = 64 << 10

	// valueTimeout bounds one put or get of the values phase.
	valueTimeout = 30 * time.Second
	// valueMaxLen bounds the length of a value before bencoding; lengths
	// are drawn up to it, well inside BEP 44's 1,000 bytes.
	valueMaxLen = 400
	// getputAlpha is the α of anacrolix's exts/getput traversals (fixed there).
	getputAlpha = 15
	// anacrolixItemExpiry is how long anacrolix servers keep an item: BEP
	// 44's two hours, as kadnode. Its ServerConfig.Exp has no default, and
	// at zero every item expires as soon as it is stored.
	anacrolixItemExpiry = 2 * time.Hour
)
