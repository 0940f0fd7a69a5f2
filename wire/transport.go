package wire

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"time"

	"github.com/anacrolix/dht/v2/krpc"
)

// Config configures a Transport; zero values take the defaults in constants.go.
type Config struct {
	Identity *Identity
	Network  string // network name; peers of another network fail the handshake
	Listen   string // UDP address to bind, e.g. "127.0.0.1:0"

	HandshakeTimeout         time.Duration
	IdleTimeout              time.Duration
	RPCTimeout               time.Duration
	MaxSessions              int
	MaxPendingHandshakes     int
	HandshakesPerIPPerSecond float64
	PeerQueueLen             int
	Logger                   *slog.Logger
}

// Stats is a snapshot of the transport's counters.
type Stats struct {
	LiveSessions      int
	PendingHandshakes int
	Handshakes        map[string]uint64 // by outcome: "ok", "failed", "timeout", "id_mismatch", "network_mismatch", "limited"
	Dropped           map[string]uint64 // by reason: "queue_full", "garbage", "plaintext", "oversize", "unknown_txid", "id_mismatch", ...
}

// Transport is one UDP socket that is DTLS client and server at once.
type Transport struct{}

var errNotImplemented = errors.New("not implemented")

// Listen binds the socket and starts the read loop.
func Listen(cfg Config) (*Transport, error) { return nil, errNotImplemented }

// Call sends a query and waits for its response.
func (t *Transport) Call(ctx context.Context, addr netip.AddrPort, expect *krpc.ID, q *krpc.Msg) (Peer, *krpc.Msg, error) {
	return Peer{}, nil, errNotImplemented
}

// Serve installs the inbound query handler.
func (t *Transport) Serve(h Handler) {}

// LocalID is this node's ID.
func (t *Transport) LocalID() krpc.ID { return krpc.ID{} }

// LocalAddr is the bound address.
func (t *Transport) LocalAddr() netip.AddrPort { return netip.AddrPort{} }

// Stats snapshots the counters.
func (t *Transport) Stats() Stats { return Stats{} }

// Close stops every goroutine and closes the socket.
func (t *Transport) Close() error { return nil }
