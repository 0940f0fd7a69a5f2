package wire

import (
	"encoding/binary"

	"github.com/pion/dtls/v2/pkg/protocol/extension"
	"github.com/pion/dtls/v2/pkg/protocol/handshake"
)

// DatagramKind is what the demultiplexer makes of one UDP datagram before
// any DTLS state is involved.
type DatagramKind uint8

const (
	// KindGarbage is neither a DTLS record nor a KRPC message.
	KindGarbage DatagramKind = iota
	// KindPlaintext looks like a bencoded KRPC message sent without DTLS.
	KindPlaintext
	// KindClientHello is a DTLS handshake record carrying the start of a
	// ClientHello: someone opens (or re-opens) a session.
	KindClientHello
	// KindHandshake is any other DTLS handshake record, a ChangeCipherSpec or
	// an alert: traffic of a handshake in progress.
	KindHandshake
	// KindAppData is a DTLS application-data record: traffic of an
	// established session.
	KindAppData
)

var kindNames = [...]string{"garbage", "plaintext", "client_hello", "handshake", "app_data"}

func (k DatagramKind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// Datagram is the classification of one datagram: its kind, the epoch of its
// first record and, for a ClientHello, the client's random.
type Datagram struct {
	Kind   DatagramKind
	Epoch  uint16
	Random [helloRandomLen]byte
}

// Classify looks at the first DTLS record of a datagram. It is pure, never
// panics and reads only within b, so it can run on the read loop for every
// datagram from any source.
func Classify(b []byte) Datagram {
	if len(b) < recordHeaderLen {
		return Datagram{Kind: plainOrGarbage(b)}
	}
	ctype, major := b[0], b[1]
	if major != dtlsVersionMajor {
		return Datagram{Kind: plainOrGarbage(b)}
	}
	epoch := binary.BigEndian.Uint16(b[3:5])
	length := int(binary.BigEndian.Uint16(b[11:13]))
	body := b[recordHeaderLen:]
	if length > len(body) {
		return Datagram{Kind: KindGarbage}
	}
	body = body[:length]
	switch ctype {
	case contentChangeCipherSpec, contentAlert:
		return Datagram{Kind: KindHandshake, Epoch: epoch}
	case contentApplicationData:
		return Datagram{Kind: KindAppData, Epoch: epoch}
	case contentHandshake:
	default:
		return Datagram{Kind: KindGarbage}
	}
	d := Datagram{Kind: KindHandshake, Epoch: epoch}
	// An encrypted handshake record (epoch > 0) is never a ClientHello.
	if epoch != 0 || len(body) < handshakeHeaderLen+2+helloRandomLen || body[0] != handshakeClientHello {
		return d
	}
	// Only the first fragment carries the random.
	if body[6] != 0 || body[7] != 0 || body[8] != 0 {
		return d
	}
	off := handshakeHeaderLen + 2 // skip client_version
	copy(d.Random[:], body[off:off+helloRandomLen])
	d.Kind = KindClientHello
	return d
}

// plainOrGarbage tells a bencoded dictionary (a KRPC message sent in the
// clear) from noise, so the two can be counted apart.
func plainOrGarbage(b []byte) DatagramKind {
	if len(b) >= 2 && b[0] == 'd' && b[len(b)-1] == 'e' {
		return KindPlaintext
	}
	return KindGarbage
}

// helloFields are the fields of a ClientHello the mux acts on.
type helloFields struct {
	protos    []string // ALPN protocols offered: the network's name
	sessionID []byte   // the session it asks to resume; empty for a full handshake
}

// readHello reads the ClientHello that starts datagram b. ok is false
// when the hello cannot be read whole (fragmented or malformed); pion
// then decides.
func readHello(b []byte) (h helloFields, ok bool) {
	if len(b) < recordHeaderLen+handshakeHeaderLen {
		return h, false
	}
	body := b[recordHeaderLen:]
	if n := int(binary.BigEndian.Uint16(b[11:13])); n <= len(body) {
		body = body[:n]
	}
	msgLen, fragOff, fragLen := uint24(body[1:4]), uint24(body[6:9]), uint24(body[9:12])
	if fragOff != 0 || fragLen != msgLen || len(body)-handshakeHeaderLen < msgLen {
		return h, false
	}
	var hello handshake.MessageClientHello
	if err := hello.Unmarshal(body[handshakeHeaderLen : handshakeHeaderLen+msgLen]); err != nil {
		return h, false
	}
	h.sessionID = hello.SessionID
	for _, e := range hello.Extensions {
		if a, isALPN := e.(*extension.ALPN); isALPN {
			h.protos = a.ProtocolNameList
		}
	}
	return h, true
}

func uint24(b []byte) int { return int(b[0])<<16 | int(b[1])<<8 | int(b[2]) }
