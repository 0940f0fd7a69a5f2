// Package stack assembles one kadnode node stack (identity, routing-table
// store, DTLS transport and node) from one Config, so that the daemon, the
// standalone client and the in-process test networks build it the same
// way and every timeout has one source. It lives apart from package node
// so that node itself needs neither a socket nor Pebble.
package stack

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"path/filepath"
	"time"

	"github.com/anacrolix/dht/v2/krpc"

	"github.com/kadnode/kadnode/node"
	"github.com/kadnode/kadnode/store"
	"github.com/kadnode/kadnode/wire"
)

// TableDir is the Pebble directory of the routing table inside a data dir.
const TableDir = "table"

// Config describes one node stack.
type Config struct {
	// DataDir holds the node key and the routing table (in TableDir).
	// Empty means a throwaway node: a fresh identity and an in-memory
	// table, nothing written to disk.
	DataDir string
	// Network is the network name both the transport and the store check.
	Network string
	// Listen is the UDP host:port to bind.
	Listen string
	// Node is the node's configuration. Its RPCTimeout (0: the default) is
	// the transport's too: the node's per-call deadline is
	// node.CallDeadlineFactor times it, which leaves the transport room to
	// redial a stale session once within one call.
	Node node.Config
	// Wire, when set, adjusts the transport's configuration once it is
	// filled in: tests and benchmarks change limits and timeouts there.
	Wire func(*wire.Config)
	// Store, when set, adjusts the store's options (e.g. cache sizes).
	Store func(*store.Options)
	// Bound, when set, adjusts the node's configuration once the socket is
	// bound and before the node is made: what depends on the real local
	// address (a port given as 0), such as an external address named by
	// the operator.
	Bound func(local netip.AddrPort, nc *node.Config)
	// ReopenEvery, when set (with a DataDir), makes the routing-table
	// store a store.Reopener that checks the disk this often: it fails the
	// store while the disk cannot take writes, and reopens it and writes
	// the node's table back once it can, without a restart.
	ReopenEvery time.Duration
	// Logger receives the log of every part; nil discards.
	Logger *slog.Logger
}

// Stack is an opened node stack. Open does not start the node: the caller
// does, once whatever it serves next to it (an API) is ready.
type Stack struct {
	Identity *wire.Identity
	// Store is the routing table's store; nil when Durable serves instead.
	Store *store.Store
	// Durable is the self-healing store of a Config with ReopenEvery.
	Durable   *store.Reopener
	Transport *wire.Transport
	Node      *node.Node
}

// Part names the piece of a stack that failed to open.
type Part int

const (
	PartIdentity Part = iota // the node key
	PartStore                // the routing table
	PartListen               // the UDP socket
	PartNode                 // the node itself
)

// Error reports which part of a stack failed to open, so that a command
// can add advice in its own terms (its flags).
type Error struct {
	Part Part
	Err  error
}

func (e *Error) Error() string {
	what := [...]string{"loading the node key", "opening the routing table", "binding the UDP socket", "starting the node"}[e.Part]
	return fmt.Sprintf("%s: %v", what, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Open loads or makes the identity, opens the store and the transport and
// makes the node; on failure it closes whatever it had opened. A changed
// node key is logged: the store re-buckets the table for the new ID.
func Open(cfg Config) (_ *Stack, err error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Stack{}
	defer func() {
		if err != nil {
			_ = s.Close()
		}
	}()
	if cfg.DataDir == "" {
		s.Identity, err = wire.NewIdentity()
	} else {
		s.Identity, err = wire.LoadOrCreateIdentity(cfg.DataDir)
	}
	if err != nil {
		return nil, &Error{PartIdentity, err}
	}
	so := store.Options{Network: cfg.Network, SelfID: s.Identity.ID, InMemory: cfg.DataDir == "", Logger: log}
	if cfg.Store != nil {
		cfg.Store(&so)
	}
	dir := ""
	if cfg.DataDir != "" {
		dir = filepath.Join(cfg.DataDir, TableDir)
	}
	var nodeStore node.Store
	var selfChanged func() (krpc.ID, bool)
	if cfg.ReopenEvery > 0 && dir != "" {
		if s.Durable, err = store.OpenReopener(dir, so, cfg.ReopenEvery); err != nil {
			return nil, &Error{PartStore, err}
		}
		nodeStore, selfChanged = s.Durable, s.Durable.SelfChanged
	} else {
		if s.Store, err = store.Open(dir, so); err != nil {
			return nil, &Error{PartStore, err}
		}
		nodeStore, selfChanged = s.Store, s.Store.SelfChanged
	}
	if old, changed := selfChanged(); changed {
		log.Warn("the node key changed since the routing table was written; re-bucketing the table", "old_id", old, "id", s.Identity.ID)
	}
	nc := cfg.Node
	nc.RPCTimeout = cmp.Or(nc.RPCTimeout, node.DefaultRPCTimeout)
	if nc.Logger == nil {
		nc.Logger = log
	}
	wc := wire.Config{Identity: s.Identity, Network: cfg.Network, Listen: cfg.Listen, RPCTimeout: nc.RPCTimeout, Logger: log}
	if cfg.Wire != nil {
		cfg.Wire(&wc)
	}
	if s.Transport, err = wire.Listen(wc); err != nil {
		return nil, &Error{PartListen, err}
	}
	if cfg.Bound != nil {
		cfg.Bound(s.Transport.LocalAddr(), &nc)
	}
	if s.Node, err = node.New(nc, s.Transport, nodeStore); err != nil {
		return nil, &Error{PartNode, err}
	}
	if s.Durable != nil {
		s.Durable.WriteBack(s.Node.Contacts)
	}
	return s, nil
}

// Close stops the node, then the socket, then the store (which syncs),
// skipping whatever was never opened.
func (s *Stack) Close() error { return s.shut(false) }

// Kill closes the socket first, in the middle of whatever the node was
// doing, so that the node vanishes without a word; then the node and the
// store.
func (s *Stack) Kill() error { return s.shut(true) }

func (s *Stack) shut(socketFirst bool) error {
	var errs []error
	closeNode := func() {
		if s.Node != nil {
			errs = append(errs, s.Node.Close())
		}
	}
	if !socketFirst {
		closeNode()
	}
	if s.Transport != nil {
		errs = append(errs, s.Transport.Close())
	}
	if socketFirst {
		closeNode()
	}
	if s.Store != nil {
		if err := s.Store.Close(); err != nil {
			errs = append(errs, fmt.Errorf("closing the routing table (recent changes may be lost): %w", err))
		}
	}
	if s.Durable != nil {
		if err := s.Durable.Close(); err != nil {
			errs = append(errs, fmt.Errorf("closing the routing table (recent changes may be lost): %w", err))
		}
	}
	return errors.Join(errs...)
}
