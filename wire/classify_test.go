package wire

import (
	"bytes"
	"testing"

	"github.com/kadnode/kadnode/kad/kadtest"
	"github.com/pion/dtls/v2/pkg/protocol"
	"github.com/pion/dtls/v2/pkg/protocol/extension"
	"github.com/pion/dtls/v2/pkg/protocol/handshake"
	"github.com/pion/dtls/v2/pkg/protocol/recordlayer"
)

// helloDatagram builds a ClientHello record as pion sends it, with the
// given random and ALPN protocols (none: no ALPN extension).
func helloDatagram(t testing.TB, random [helloRandomLen]byte, protos ...string) []byte {
	t.Helper()
	return resumingHello(t, random, nil, protos...)
}

// resumingHello is helloDatagram asking to resume session sessionID.
func resumingHello(t testing.TB, random [helloRandomLen]byte, sessionID []byte, protos ...string) []byte {
	t.Helper()
	var r handshake.Random
	r.UnmarshalFixed(random)
	hello := &handshake.MessageClientHello{
		Version:            protocol.Version1_2,
		Random:             r,
		SessionID:          sessionID,
		CipherSuiteIDs:     []uint16{0xc02b},
		CompressionMethods: []*protocol.CompressionMethod{{ID: 0}}, // null,
	}
	if len(protos) > 0 {
		hello.Extensions = []extension.Extension{&extension.ALPN{ProtocolNameList: protos}}
	}
	rec := &recordlayer.RecordLayer{
		Header:  recordlayer.Header{Version: protocol.Version1_0},
		Content: &handshake.Handshake{Message: hello},
	}
	b, err := rec.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// record builds a record header of content type ct and epoch, around body.
func record(ct byte, epoch uint16, body []byte) []byte {
	b := []byte{ct, 0xfe, 0xfd, byte(epoch >> 8), byte(epoch), 0, 0, 0, 0, 0, 1, byte(len(body) >> 8), byte(len(body))}
	return append(b, body...)
}

func TestClassify(t *testing.T) {
	var random [helloRandomLen]byte
	for i := range random {
		random[i] = byte(i + 1)
	}
	hello := helloDatagram(t, random, "kadnode/test")
	d := Classify(hello)
	if d.Kind != KindClientHello || d.Random != random || d.Epoch != 0 {
		t.Fatalf("Classify(ClientHello) = %+v, want a ClientHello with random %x", d, random)
	}
	if h, ok := readHello(hello); !ok || len(h.protos) != 1 || h.protos[0] != "kadnode/test" || len(h.sessionID) != 0 {
		t.Errorf("readHello = %+v, %v; want [kadnode/test] and no session ID, true", h, ok)
	}
	if h, ok := readHello(helloDatagram(t, random)); !ok || len(h.protos) != 0 {
		t.Errorf("readHello without ALPN = %+v, %v; want no protocols, true", h, ok)
	}

	truncated := hello[:len(hello)-1]
	cases := []struct {
		name string
		b    []byte
		want DatagramKind
	}{
		{"empty", nil, KindGarbage},
		{"short", []byte{22, 0xfe}, KindGarbage},
		{"plaintext KRPC", []byte("d1:ad2:id20:" + kadtest.RawID + "e1:q4:ping1:t2:aa1:y1:qe"), KindPlaintext},
		{"truncated record", truncated, KindGarbage},
		{"not DTLS", append([]byte{22, 0x03, 0x03}, hello[3:]...), KindGarbage},
		{"unknown content type", record(99, 0, []byte{1}), KindGarbage},
		{"app data", record(contentApplicationData, 1, make([]byte, 40)), KindAppData},
		{"alert", record(contentAlert, 0, []byte{2, 40}), KindHandshake},
		{"change cipher spec", record(contentChangeCipherSpec, 0, []byte{1}), KindHandshake},
		{"encrypted handshake", record(contentHandshake, 1, hello[recordHeaderLen:]), KindHandshake},
		{"server hello", record(contentHandshake, 0, append([]byte{2}, hello[recordHeaderLen+1:]...)), KindHandshake},
		{"hello fragment", func() []byte {
			b := bytes.Clone(hello)
			b[recordHeaderLen+8] = 1 // fragment offset 1
			return b
		}(), KindHandshake},
	}
	for _, c := range cases {
		if got := Classify(c.b).Kind; got != c.want {
			t.Errorf("%s: Classify = %v, want %v", c.name, got, c.want)
		}
	}
}
