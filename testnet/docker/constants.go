package main

import "time"

// Names of what the testnet creates; everything carries the project prefix
// so that `down` removes exactly what `up` made.
const (
	project     = "kadnode-testnet"        // compose project name
	image       = "kadnode-testnet:latest" // built FROM scratch around the static binary
	networkName = "kadnode-testnet"        // the private bridge network
	seedService = "seed"
	lateService = "late" // started only by the check, after the seed is stopped
	// restartTarget is recreated without seeds; disconnectTarget is cut off
	// the network and reconnected.
	restartTarget    = "node2"
	disconnectTarget = "node3"
	// The NAT case: a home router and one node behind it, on a LAN.
	routerService  = "router"
	natService     = "natnode"
	lanNetworkName = "kadnode-testnet-lan"
)

// Addresses of the NAT case. The public network gets a fixed subnet so
// that the seed has a fixed address the NAT'd node can name.
const (
	publicSubnet  = "10.213.0.0/16"
	publicDynamic = "10.213.128.0/17" // where docker picks the other nodes' addresses
	publicGateway = "10.213.0.1"      // the host's side of the bridge
	seedIP        = "10.213.0.2"
	lanSubnet     = "10.214.0.0/24"
	routerLANIP   = "10.214.0.2"
	natNodeIP     = "10.214.0.10"
	routerBinary  = "/natrouter" // path in the image
	// natClassifyTime bounds how long the NAT'd node takes to find out it
	// sits behind a NAT (a join and a dial-back check), on a busy machine.
	natClassifyTime = 2 * time.Minute
)

// What runs inside each container.
const (
	nodePort  = 4114             // UDP port of every node
	apiAddr   = "127.0.0.1:4115" // control API, loopback inside the container
	dataDir   = "/data"          // the node's data dir, a volume per node
	binary    = "/kadnode"       // path of the binary in the image
	netName   = "testnet"        // kadnode network name (handshake separation)
	apiExecTO = 60 * time.Second // bound of one docker command
	// composeExecTO bounds one compose command: it starts or removes every
	// container, a minute or more at N = 100 on a busy machine.
	composeExecTO = 10 * time.Minute
)

// Timing of the testnet's nodes: short, so that the check's failure and
// recovery steps finish in seconds rather than the production hour.
const (
	revalidateInterval = "1s"
	refreshInterval    = "20s"
	rpcTimeout         = "1s"
)

// Bounds of the check.
const (
	defaultNodes = 20
	// The whole command's default bound grows with the network: the
	// restart step visits the nodes one at a time, at a second or more
	// each on a busy machine. With the default watch, 20 nodes get
	// 8 minutes and 100 nodes 28 (a 100-node check took 11 minutes at a
	// load average around 10, and 20 at 50).
	checkTimeBase    = time.Minute
	checkTimePerNode = 15 * time.Second
	defaultSample    = 3 // lookups per node in the lookup step
	// lookupWorkers bounds the lookups (over the nodes' API) that the
	// lookup steps run at once: a few in flight keep the step short
	// without piling handshakes on a 2-core machine.
	lookupWorkers   = 8
	pollInterval    = 2 * time.Second
	apiPollInterval = 500 * time.Millisecond
	// restartBatch is how many nodes the persistence step restarts at once:
	// one, because a node restarting beside its contacts may rightly evict
	// them (they are down), which would hide what the step checks.
	restartBatch = 1
	stepTimeout  = 90 * time.Second
	// defaultObserve is how long the quiet-network step watches for false
	// evictions and failed handshakes.
	defaultObserve = 2 * time.Minute
	// maxJoinTime bounds every node's join, from its start.
	maxJoinTime = 30 * time.Second
	// maxTimeoutShare bounds handshake timeouts in a network with no
	// fault: a lost handshake there is a bug, not bad luck.
	maxTimeoutShare   = 0.01
	healthyTimeout    = 3 * time.Minute
	maxNodes          = 200 // one machine; every node is a container
	logTailOnFailure  = "40"
	composeFileName   = "docker-compose.yml"
	noSeedFileName    = "docker-compose.noseed.yml"
	defaultWorkDir    = "bin/testnet"
	defaultBinaryPath = "bin/kadnode-static"
	defaultRouterPath = "bin/natrouter-static"
)
