package kad

import (
	"fmt"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/anacrolix/torrent/bencode"
)

// EncodeMsg bencodes m, byte for byte as anacrolix's encoder would (and
// with it, for fields kadnode does not use; see appendMsg). It refuses a
// message DecodeMsg would refuse, or one whose addresses do not fit their
// compact form, with a *MalformedError (code 201: the fault is ours), and
// one over MaxMessageSize with a *MessageTooLargeError.
func EncodeMsg(m *krpc.Msg) ([]byte, error) {
	b, err := AppendMsg(nil, m)
	if err != nil {
		return nil, err
	}
	return b, nil
}

// AppendMsg appends m's encoding, as EncodeMsg makes it, to dst and
// returns the extended slice; on an error it returns dst as it was. A
// sender that recycles dst saves an allocation per message.
func AppendMsg(dst []byte, m *krpc.Msg) ([]byte, error) {
	if m == nil {
		return dst, &MalformedError{Reason: "nil message", Code: krpc.ErrorCodeGenericError}
	}
	// The encoder omits an all-zero ID, so a zero target would arrive
	// absent: presence is what will be written.
	p := presence{aID: m.A != nil, target: m.A != nil && !m.A.Target.IsZero(), rID: m.R != nil}
	reason := checkMsg(m, p)
	if reason == "" {
		reason = checkAddrs(m)
	}
	if reason != "" {
		return dst, &MalformedError{Reason: reason, Code: krpc.ErrorCodeGenericError, T: m.T, Query: m.Y == krpc.YQuery}
	}
	var b []byte
	if plainMsg(m) {
		if dst == nil {
			dst = make([]byte, 0, plainMsgSizeHint(m))
		}
		b = appendMsg(dst, m)
	} else {
		enc, err := bencode.Marshal(m)
		if err != nil {
			return dst, fmt.Errorf("encoding KRPC message: %w", err)
		}
		b = enc
		if dst != nil {
			b = append(dst, enc...)
		}
	}
	if limit, size := msgLimit(m), len(b)-len(dst); size > limit {
		return dst, &MessageTooLargeError{Size: size, Limit: limit}
	}
	return b, nil
}

// DecodeMsg parses one KRPC message strictly: canonical bencode (sorted,
// unique keys, no trailing bytes), a "t" of 1 to MaxTransactionIDLen
// bytes, "y" one of q, r, e, and the fields each type needs, with IDs of
// exactly 20 bytes. Keys kadnode does not use are checked as bencode and
// skipped. A query for an unknown method decodes; see KnownMethod.
//
// It returns a *MessageTooLargeError for input over MaxMessageSize and a
// *MalformedError otherwise.
func DecodeMsg(b []byte) (*krpc.Msg, error) {
	if len(b) > MaxValueMessageSize {
		return nil, &MessageTooLargeError{Size: len(b), Limit: MaxMessageSize}
	}
	switch {
	case len(b) == 0:
		return nil, &MalformedError{Reason: "empty message", Code: krpc.ErrorCodeProtocolError}
	case b[0] != 'd':
		return nil, &MalformedError{Reason: fmt.Sprintf("not a bencoded dict: it starts with %q", b[0]), Code: krpc.ErrorCodeProtocolError}
	}
	d := &msgDecoder{r: bencodeReader{b: b}}
	err := d.r.dict(func(k []byte) error { return d.field(maxBencodeDepth-1, k, (*msgDecoder).topField) })
	if err == nil && d.r.pos != len(b) {
		err = d.r.errorf("%s after the message", nBytes(len(b)-d.r.pos))
	}
	m := &d.m
	malformed := func(reason string) error {
		return &MalformedError{Reason: reason, Code: krpc.ErrorCodeProtocolError, T: validT(m.T), Query: m.Y == krpc.YQuery}
	}
	switch {
	case len(b) > MaxMessageSize && (err != nil || d.problem != nil):
		// Only a valid message with a BEP 44 value may be this long.
		return nil, &MessageTooLargeError{Size: len(b), Limit: MaxMessageSize}
	case err != nil:
		return nil, malformed("invalid bencode: " + err.Error())
	case d.problem != nil:
		return nil, malformed(d.problem.Error())
	}
	if len(b) > msgLimit(m) {
		// Only a message with a BEP 44 value may be this long.
		return nil, &MessageTooLargeError{Size: len(b), Limit: MaxMessageSize}
	}
	if reason := checkMsg(m, d.p); reason != "" {
		return nil, malformed(reason)
	}
	return m, nil
}

// msgLimit is the largest encoding m may have.
func msgLimit(m *krpc.Msg) int {
	if carriesValue(m) {
		return MaxValueMessageSize
	}
	return MaxMessageSize
}

// KnownMethod reports whether kadnode answers the query method q; a node
// answers other methods with krpc.ErrorCodeMethodUnknown (204).
func KnownMethod(q string) bool {
	return q == MethodPing || q == MethodFindNode || q == MethodGet || q == MethodPut || NATMethod(q)
}

// presence records which ID fields were present, since krpc.ID decodes an
// absent field as the zero ID.
type presence struct {
	aID, target, rID bool
}

// checkMsg returns what makes m invalid, or "" if it is a valid message.
// It serves both directions, so that kadnode never sends what it would
// refuse to receive.
func checkMsg(m *krpc.Msg, p presence) string {
	if m.T == "" {
		return `no transaction ID "t"`
	}
	if len(m.T) > MaxTransactionIDLen {
		return fmt.Sprintf(`transaction ID "t" is %s, want at most %d`, nBytes(len(m.T)), MaxTransactionIDLen)
	}
	switch m.Y {
	case krpc.YQuery:
		switch {
		case m.Q == "":
			return `query has no method "q"`
		case m.A == nil:
			return fmt.Sprintf(`%s query has no arguments "a"`, quoteShort(m.Q))
		case !p.aID:
			return fmt.Sprintf(`%s query has no "id" in "a"`, quoteShort(m.Q))
		case (m.Q == MethodFindNode || m.Q == MethodGet) && !p.target:
			return fmt.Sprintf(`%s query has no "target" in "a"`, m.Q)
		case m.Q == MethodPut && m.A.V == nil:
			return `put query has no value "v" in "a"`
		}
	case krpc.YResponse:
		if m.R == nil {
			return `response has no return values "r"`
		}
	case krpc.YError:
		if m.E == nil {
			return `error message has no "e"`
		}
	case "":
		return `no message type "y"`
	default:
		return fmt.Sprintf(`message type "y" is %s, want "q", "r" or "e"`, quoteShort(m.Y))
	}
	// "a" and "r" need their "id" whatever the type: the encoder always
	// writes one, so a message without it would not re-encode as it came.
	switch {
	case m.A != nil && !p.aID:
		return `"a" has no "id"`
	case m.R != nil && !p.rID && m.Y == krpc.YResponse:
		return `response has no "id" in "r"`
	case m.R != nil && !p.rID:
		return `"r" has no "id"`
	}
	return ""
}

// validT returns t if a reply could carry it back, else "".
func validT(t string) string {
	if len(t) > MaxTransactionIDLen {
		return ""
	}
	return t
}
