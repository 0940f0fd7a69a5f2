package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/kadnode/kadnode/node"
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
			apiFlag("control API `ADDR` (HTTP); empty disables it"),
			apiTokenFlag(),
			intFlag("k", node.DefaultK, "bucket size `K`"),
			intFlag("alpha", node.DefaultAlpha, "lookup parallelism `ALPHA`"),
			durationFlag("rpc-timeout", node.DefaultRPCTimeout, "`DURATION` before a query counts as failed"),
			durationFlag("refresh-interval", node.DefaultRefreshInterval, "refresh a bucket after `DURATION` without a lookup"),
			durationFlag("revalidate-interval", node.DefaultRevalidateInterval, "ping the least-recently-seen contact every `DURATION`"),
		}, logFlags("info")...),
		Action: runDaemon,
	}
}

// daemonConfig is `kadnode run`'s command line, checked.
type daemonConfig struct {
	listen, dataDir, network string
	seeds                    []wire.Contact
	api, apiToken            string
	k, alpha                 int
	rpcTimeout               time.Duration
	refresh, revalidate      time.Duration
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
	d.api, d.apiToken = c.String("api"), c.String("api-token")
	if d.api != "" {
		if err = checkAPIBind(d.api, d.apiToken); err != nil {
			return d, err
		}
	}
	if d.k, err = positive(c, "k"); err != nil {
		return d, err
	}
	if d.alpha, err = positive(c, "alpha"); err != nil {
		return d, err
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
	store *store.Store
	tr    *wire.Transport
	node  *node.Node
}

// close stops the node, the socket and the store, in that order, skipping
// whatever was never opened; the store syncs on close.
func (s *nodeStack) close() error {
	var errs []error
	if s.node != nil {
		errs = append(errs, s.node.Close())
	}
	if s.tr != nil {
		errs = append(errs, s.tr.Close())
	}
	if s.store != nil {
		if err := s.store.Close(); err != nil {
			errs = append(errs, fmt.Errorf("closing the routing table (recent changes may be lost): %w", err))
		}
	}
	return errors.Join(errs...)
}

// daemon is a running node with everything it owns.
type daemon struct {
	nodeStack
	cfg     daemonConfig
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
	id, err := wire.LoadOrCreateIdentity(cfg.dataDir)
	if err != nil {
		return nil, identityError(cfg.dataDir, err)
	}
	d.store, err = store.Open(filepath.Join(cfg.dataDir, tableDirName), store.Options{
		Network: cfg.network, SelfID: id.ID, Logger: cfg.log,
	})
	if err != nil {
		return nil, storeOpenError(cfg.dataDir, err)
	}
	if old, changed := d.store.SelfChanged(); changed {
		cfg.log.Warn("the node key changed since the routing table was written; re-bucketing the table",
			"old_id", old, "id", id.ID)
	}
	// Node and transport share the RPC timeout: the node's per-call deadline
	// is a multiple of it, which leaves the transport room for its redial.
	d.tr, err = wire.Listen(wire.Config{Identity: id, Network: cfg.network, Listen: cfg.listen,
		RPCTimeout: cfg.rpcTimeout, Logger: cfg.log})
	if err != nil {
		return nil, listenError("UDP", "--listen", cfg.listen, err)
	}
	lookups := newLookupLog(time.Now)
	d.node, err = node.New(node.Config{
		K: cfg.k, Alpha: cfg.alpha, Seeds: cfg.seeds,
		RPCTimeout: cfg.rpcTimeout, RefreshInterval: cfg.refresh, RevalidateInterval: cfg.revalidate,
		Logger: cfg.log, OnLookup: lookups.observe,
	}, d.tr, d.store)
	if err != nil {
		return nil, fmt.Errorf("starting the node: %w", err)
	}
	if cfg.api != "" {
		if d.apiLn, err = net.Listen("tcp", cfg.api); err != nil {
			return nil, listenError("control API", "--api", cfg.api, err)
		}
	}
	d.node.Start()
	if d.apiLn != nil {
		d.serveAPI(lookups)
	}
	return d, nil
}

func (d *daemon) serveAPI(lookups *lookupLog) {
	reg := newRegistry(statsSources{node: d.node.Stats, transport: d.tr.Stats, store: d.store.Stats}, lookups)
	reg.MustRegister(newValuesCollector(d.node.ValueStats))
	api := &controlAPI{
		node:    d.node,
		network: d.cfg.network,
		token:   d.cfg.apiToken,
		now:     time.Now,
		metrics: promHandler(reg),
		status:  &statusPage{node: d.node, network: d.cfg.network, k: d.cfg.k, lookups: lookups, now: time.Now},
		log:     d.cfg.log,
		values:  d.node,
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
	return d.nodeStack.close()
}
