package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/kadnode/kadnode/kad"
	"github.com/kadnode/kadnode/node"
	"github.com/kadnode/kadnode/node/stack"
	"github.com/kadnode/kadnode/store"
	"github.com/kadnode/kadnode/wire"
)

func runCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "run",
		Usage: "run a node (prints its contact string ID@host:port on stdout)",
		Description: "Runs the node until SIGINT or SIGTERM; a second signal exits at once.\n" +
			"The node key is <data-dir>/node.key, the routing table <data-dir>/table.",
		Flags: append([]ucli.Flag{
			listenFlag(),
			dataDirFlag(),
			seedFlag("seed `CONTACT` (ID@host:port or host:port) to join through; repeatable"),
			networkFlag(),
			apiFlag("control API `ADDR` (HTTP, or HTTPS with --api-tls-cert); empty disables it"),
			apiTokenFlag(),
			apiTokenFileFlag(),
			apiTLSCertFlag("serve the control API over HTTPS with the certificate in PEM `FILE`"),
			stringFlag("api-tls-key", "", "private key in PEM `FILE` of --api-tls-cert"),
			intFlag("k", node.DefaultK, "bucket size `K`"),
			intFlag("alpha", node.DefaultAlpha, "lookup parallelism `ALPHA`"),
			intFlag("prepare-ahead", node.DefaultPrepareAhead, fmt.Sprintf("start handshakes with a lookup's next `N` candidates while its queries are out, where query round trips take %v or more; 0 turns it off", wire.DefaultPrepareMinRTT)),
			durationFlag("rpc-timeout", node.DefaultRPCTimeout, "`DURATION` before a query counts as failed"),
			durationFlag("refresh-interval", node.DefaultRefreshInterval, "refresh a bucket after `DURATION` without a lookup"),
			durationFlag("revalidate-interval", node.DefaultRevalidateInterval, "ping the least-recently-seen contact every `DURATION`"),
		}, append(natFlags(), logFlags("info")...)...),
		Action: runDaemon,
	}
}

// daemonConfig is `kadnode run`'s command line, checked.
type daemonConfig struct {
	listen, dataDir, network string
	seeds                    []kad.Endpoint
	api, apiToken            string
	apiTLS                   *tls.Config // nil: plain HTTP
	k, alpha                 int
	prepareAhead             int // as node.Config wants it: negative is off
	rpcTimeout               time.Duration
	refresh, revalidate      time.Duration
	nat                      natConfig
	log                      *slog.Logger
}

func parseDaemonConfig(c *ucli.Context) (daemonConfig, error) {
	var (
		d   daemonConfig
		err error
	)
	if err = noArgs(c); err != nil {
		return d, err
	}
	d.listen = c.String("listen")
	if err = checkHostPort("--listen", d.listen, defaultListen); err != nil {
		return d, err
	}
	if d.dataDir, err = dataDir(c); err != nil {
		return d, err
	}
	if d.seeds, err = parseSeeds(c.StringSlice("seed")); err != nil {
		return d, err
	}
	if d.network = c.String("network"); d.network == "" {
		return d, usageErrorf("--network is empty; give the network name (default %q)", defaultNetwork)
	}
	d.api = c.String("api")
	if err = checkAPIAuth(c, &d); err != nil {
		return d, err
	}
	if d.k, err = positive(c, "k"); err != nil {
		return d, err
	}
	if d.alpha, err = positive(c, "alpha"); err != nil {
		return d, err
	}
	if d.prepareAhead = c.Int("prepare-ahead"); d.prepareAhead < 0 {
		return d, usageErrorf("--prepare-ahead must be 0 (off) or more, got %d", d.prepareAhead)
	} else if d.prepareAhead == 0 {
		d.prepareAhead = -1
	}
	if d.rpcTimeout, err = positiveDuration(c, "rpc-timeout"); err != nil {
		return d, err
	}
	if d.refresh, err = positiveDuration(c, "refresh-interval"); err != nil {
		return d, err
	}
	if d.revalidate, err = positiveDuration(c, "revalidate-interval"); err != nil {
		return d, err
	}
	if d.nat, err = parseNATConfig(c); err != nil {
		return d, err
	}
	d.log, err = newLogger(c, c.App.ErrWriter)
	return d, err
}

// checkHostPort rejects an address that is not host:port with a numeric port.
func checkHostPort(flag, addr, example string) error {
	_, port, err := net.SplitHostPort(addr)
	if err == nil {
		_, err = strconv.ParseUint(port, 10, 16)
	}
	if err != nil {
		return usageErrorf("%s %q is not host:port (e.g. %s)", flag, addr, example)
	}
	return nil
}

// checkAPIBind refuses a control API reachable from other machines unless
// it has a token: whoever reaches it can steer the node.
func checkAPIBind(addr, token string) error {
	if err := checkHostPort("--api", addr, defaultAPI); err != nil {
		return err
	}
	host, _, _ := net.SplitHostPort(addr)
	if isLoopbackHost(host) || token != "" {
		return nil
	}
	return usageErrorf("--api %s can be reached from other machines, so it needs a token: "+
		"set --api-token (or KADNODE_API_TOKEN), or bind the API to loopback, e.g. --api %s", addr, defaultAPI)
}

func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// nodeStack is a node with the socket and the store it runs on; `run` and
// the standalone client commands both hold one.
type nodeStack struct {
	store   *store.Store
	durable *store.Reopener // the daemon's self-healing store; store is nil then
	tr      *wire.Transport
	node    *node.Node
}

// close stops the node, the socket and the store, in that order, skipping
// whatever was never opened; the store syncs on close.
func (s *nodeStack) close() error {
	return (&stack.Stack{Store: s.store, Durable: s.durable, Transport: s.tr, Node: s.node}).Close()
}

// stackError explains a part of the stack that failed to open in terms of
// `run`'s flags.
func stackError(cfg daemonConfig, err error) error {
	var se *stack.Error
	if !errors.As(err, &se) {
		return err
	}
	switch se.Part {
	case stack.PartIdentity:
		return identityError(cfg.dataDir, se.Err)
	case stack.PartStore:
		return storeOpenError(cfg.dataDir, se.Err)
	case stack.PartListen:
		return listenError("UDP", "--listen", cfg.listen, se.Err)
	}
	return err
}

// daemon is a running node with everything it owns.
type daemon struct {
	nodeStack
	cfg     daemonConfig
	portmap *portMapper
	api     *http.Server
	apiLn   net.Listener
	apiDone chan struct{}
}

func runDaemon(c *ucli.Context) error {
	cfg, err := parseDaemonConfig(c)
	if err != nil {
		return err
	}
	// Catch signals before opening anything, so that one that arrives
	// during the start still gets a clean shutdown.
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sig)
	d, err := startDaemon(cfg)
	if err != nil {
		return err
	}

	if contact, interrupted := d.awaitContact(sig); !interrupted {
		fmt.Fprintln(c.App.Writer, contact)
		cfg.log.Info("node running", "contact", contact, "listen", d.tr.LocalAddr(), "api", cfg.api, "data_dir", cfg.dataDir)
		<-sig
	}
	cfg.log.Info("shutting down; a second signal exits at once")
	closed := make(chan struct{})
	defer close(closed)
	go func() {
		select {
		case s := <-sig:
			cfg.log.Error("second signal: exiting without a clean shutdown", "signal", s.String())
			os.Exit(exitFailure)
		case <-closed:
		}
	}()
	if err := d.close(); err != nil {
		return err
	}
	cfg.log.Info("stopped; routing table saved")
	return nil
}

// startDaemon opens the key, the store, the socket and the API, then starts
// the node; on failure it releases whatever it had opened.
func startDaemon(cfg daemonConfig) (_ *daemon, err error) {
	d := &daemon{cfg: cfg}
	defer func() {
		if err != nil {
			_ = d.close()
		}
	}()
	lookups := newLookupLog(time.Now)
	st, err := stack.Open(stack.Config{
		DataDir: cfg.dataDir, Network: cfg.network, Listen: cfg.listen, Logger: cfg.log,
		ReopenEvery: storeCheckInterval,
		Bound: func(local netip.AddrPort, nc *node.Config) {
			nc.NAT = cfg.nat.nodeNAT(local)
		},
		Node: node.Config{
			K: cfg.k, Alpha: cfg.alpha, PrepareAhead: cfg.prepareAhead, Seeds: cfg.seeds,
			RPCTimeout: cfg.rpcTimeout, RefreshInterval: cfg.refresh, RevalidateInterval: cfg.revalidate,
			OnLookup: lookups.observe,
		},
	})
	if err != nil {
		return nil, stackError(cfg, err)
	}
	d.nodeStack = nodeStack{durable: st.Durable, tr: st.Transport, node: st.Node}
	if cfg.api != "" {
		if d.apiLn, err = listenAPI(cfg); err != nil {
			return nil, err
		}
	}
	d.node.Start()
	d.portmap = cfg.nat.startPortMapper(d.tr.LocalAddr(), d.node.SetMapped, cfg.log)
	if d.apiLn != nil {
		d.serveAPI(lookups)
	}
	return d, nil
}

func (d *daemon) serveAPI(lookups *lookupLog) {
	src := statsSources{node: d.node.Stats, transport: d.tr.Stats, store: d.durable.Stats, health: d.durable.Health}
	reg := newRegistry(src, lookups)
	ready := func() readyJSON { return readiness(d.node, d.tr.LocalAddr().String(), d.durable.Health) }
	reg.MustRegister(newValuesCollector(d.node.ValueStats))
	api := &controlAPI{
		node:    d.node,
		network: d.cfg.network,
		token:   d.cfg.apiToken,
		host:    apiHost(d.cfg.api),
		now:     time.Now,
		metrics: promHandler(reg),
		status: &statusPage{node: d.node, network: d.cfg.network, k: d.cfg.k, lookups: lookups, now: time.Now,
			stats: src, ready: ready},
		log:   d.cfg.log,
		ready: ready,
		persist: func() error {
			d.node.Flush()
			return d.durable.Health().Err
		},
		values: d.node,
	}
	api.status.values = d.node.ValueStats
	d.api = &http.Server{
		Handler:           api.routes(),
		ReadHeaderTimeout: apiReadHeaderTimeout,
		ErrorLog:          slog.NewLogLogger(d.cfg.log.Handler(), slog.LevelWarn),
	}
	d.apiDone = make(chan struct{})
	go func() {
		defer close(d.apiDone)
		if err := d.api.Serve(d.apiLn); !errors.Is(err, http.ErrServerClosed) {
			d.cfg.log.Error("control API stopped", "err", err)
		}
	}()
}

// close stops the API, then the node, the socket and the store.
func (d *daemon) close() error {
	if d.api != nil {
		ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		if err := d.api.Shutdown(ctx); err != nil {
			_ = d.api.Close()
		}
		cancel()
		<-d.apiDone
	} else if d.apiLn != nil {
		_ = d.apiLn.Close()
	}
	if d.portmap != nil {
		d.portmap.stop()
	}
	return d.nodeStack.close()
}
