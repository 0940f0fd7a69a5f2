package cli

import "time"

// Exit statuses: scripts rely on these.
const (
	exitOK      = 0 // success
	exitFailure = 1 // failure at run time: no seed answered, node unreachable, lookup failed
	exitUsage   = 2 // bad usage: unknown flag, bad contact string, bad ID
)

// Defaults of the flags; each flag also reads KADNODE_<FLAG>.
const (
	envPrefix      = "KADNODE_"
	defaultListen  = "0.0.0.0:4114"   // UDP, all interfaces
	defaultAPI     = "127.0.0.1:4115" // HTTP control API, loopback only
	defaultNetwork = "kadnode"        // network name checked in every handshake
)

// Layout of the data dir (the key file is wire.KeyFileName, the table
// stack.TableDir).
const (
	dataDirName = "kadnode" // under $XDG_DATA_HOME or ~/.local/share
)

// Timing of the daemon and the client commands.
const (
	// clientTimeout bounds one client command (lookup, ping, add, …) end to end.
	clientTimeout = 60 * time.Second
	// idAPITimeout bounds `kadnode id --json`'s best-effort question to the API.
	idAPITimeout = 2 * time.Second
	// shutdownTimeout bounds the control API's graceful shutdown.
	shutdownTimeout = 5 * time.Second
	// externalAddrWait is how long `run` on a wildcard address waits for
	// peers to report its external address before printing a local one.
	externalAddrWait = 10 * time.Second
	// selfPollInterval is how often that wait looks at the node again.
	selfPollInterval = 100 * time.Millisecond
	// apiReadHeaderTimeout guards the control API against slow clients.
	apiReadHeaderTimeout = 5 * time.Second
	// progressInterval is how often the progress line on a terminal redraws.
	progressInterval = 100 * time.Millisecond
)

// Limits of the observability endpoints.
const (
	// recentLookupsKept is how many lookups the status page lists.
	recentLookupsKept = 15
)

// Control API security and health.
const (
	// minAPITokenLen is the shortest bearer token accepted: 16 bytes of a
	// random base64 string is about 96 bits, beyond guessing.
	minAPITokenLen = 16
	// maxAPITokenFileSize bounds what --api-token-file may hold.
	maxAPITokenFileSize = 4096
	// authFailureBurst is how many wrong tokens a client address may send
	// at once before it is slowed down.
	authFailureBurst = 10
	// authRetryInterval is how often a slowed-down client address may try
	// another token.
	authRetryInterval = time.Second
	// maxAuthClients bounds the client addresses whose failures are
	// counted one by one; past it, new ones share a single count.
	maxAuthClients = 4096
	// storeCheckInterval is how often the daemon checks the data dir's
	// disk, and tries to reopen a failed store.
	storeCheckInterval = 2 * time.Second
)
