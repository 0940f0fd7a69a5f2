package kad

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/anacrolix/dht/v2/krpc"
)

// Errors of the KRPC codec.

// ErrMessageTooLarge is matched (errors.Is) by every *MessageTooLargeError.
var ErrMessageTooLarge = errors.New("KRPC message too large")

// ErrMalformed is matched (errors.Is) by every *MalformedError.
var ErrMalformed = errors.New("malformed KRPC message")

// MessageTooLargeError reports a message over MaxMessageSize: an outgoing
// one that EncodeMsg refused, or an incoming one that DecodeMsg refused.
type MessageTooLargeError struct {
	Size  int // encoded size in bytes
	Limit int // MaxMessageSize
}

func (e *MessageTooLargeError) Error() string {
	return fmt.Sprintf("KRPC message is %d bytes, over the %d-byte limit", e.Size, e.Limit)
}

// Is makes errors.Is(err, ErrMessageTooLarge) true.
func (e *MessageTooLargeError) Is(target error) bool { return target == ErrMessageTooLarge }

// MalformedError reports a message that is not valid KRPC. For an incoming
// query, Code is the KRPC error code the reply should carry and T the
// transaction ID to answer with (empty when none could be read, in which
// case no reply can be matched by the sender and none should be sent).
type MalformedError struct {
	Reason string // what is wrong, e.g. `find_node query has no "target"`
	Code   int    // KRPC error code for the reply: 203 protocol error, 201 generic
	T      string // transaction ID, when it could be read
	Query  bool   // the message was a query, so its sender waits for an answer
}

func (e *MalformedError) Error() string {
	return "malformed KRPC message: " + e.Reason
}

// Is makes errors.Is(err, ErrMalformed) true.
func (e *MalformedError) Is(target error) bool { return target == ErrMalformed }

// Errors of the transport.

// ErrClosed is returned by calls on a closed Transport.
var ErrClosed = errors.New("transport closed")

// ErrSessionClosed is returned by a call whose session closed before the
// response came (the peer sent close_notify, or the session was reaped).
var ErrSessionClosed = errors.New("DTLS session closed")

// ErrNetworkMismatch is matched (errors.Is) by every *NetworkMismatchError.
var ErrNetworkMismatch = errors.New("peer is on another network")

// IDMismatchError reports a peer whose certificate gives another node ID
// than the one the caller expected (a wrong contact, or the node made a new
// key). No session is kept.
type IDMismatchError struct {
	Addr     netip.AddrPort
	Expected krpc.ID
	Got      krpc.ID
}

func (e *IDMismatchError) Error() string {
	return fmt.Sprintf("peer %s has node ID %x, expected %x; check the contact's ID, "+
		"or give host:port without an ID to accept whatever node is there", e.Addr, e.Got[:], e.Expected[:])
}

// NetworkMismatchError reports a peer that does not speak this node's
// network name in the handshake.
type NetworkMismatchError struct {
	Addr    netip.AddrPort
	Network string // this node's network
}

func (e *NetworkMismatchError) Error() string {
	return fmt.Sprintf("peer %s is not on network %q (it refused ours, or offered another); "+
		"nodes must run with the same --network to talk", e.Addr, e.Network)
}

// Is makes errors.Is(err, ErrNetworkMismatch) true.
func (e *NetworkMismatchError) Is(target error) bool { return target == ErrNetworkMismatch }

// HandshakeTimeoutError reports a DTLS handshake that did not complete in
// time: the peer is down, unreachable, or not a kadnode.
type HandshakeTimeoutError struct {
	Addr  netip.AddrPort
	After time.Duration
}

func (e *HandshakeTimeoutError) Error() string {
	return fmt.Sprintf("DTLS handshake with %s timed out after %v: no kadnode answered there", e.Addr, e.After)
}

// Timeout marks the error as a timeout for net.Error-style checks.
func (e *HandshakeTimeoutError) Timeout() bool { return true }

// RPCTimeoutError reports a query that got no response in time.
type RPCTimeoutError struct {
	Addr   netip.AddrPort
	Method string
	After  time.Duration
}

func (e *RPCTimeoutError) Error() string {
	return fmt.Sprintf("%s to %s: no response within %v", e.Method, e.Addr, e.After)
}

// Timeout marks the error as a timeout for net.Error-style checks.
func (e *RPCTimeoutError) Timeout() bool { return true }

// LimitError reports a handshake refused by one of the transport's limits.
type LimitError struct {
	What string
	Addr netip.AddrPort
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("cannot open a session with %s: too many %s; retry later or raise the limit", e.Addr, e.What)
}
