package wire

import (
	"errors"
	"fmt"
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
