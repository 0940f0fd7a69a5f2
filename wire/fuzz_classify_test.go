package wire

import (
	"bytes"
	"testing"

	"github.com/kadnode/kadnode/kad/kadtest"
)

// FuzzClassify feeds the demultiplexer's classifier arbitrary datagrams:
// it must never panic, and what it calls a ClientHello must be one.
func FuzzClassify(f *testing.F) {
	var random [helloRandomLen]byte
	copy(random[:], "0123456789abcdef0123456789abcdef")
	f.Add(helloDatagram(f, random, "kadnode/test"))
	f.Add(helloDatagram(f, random))
	f.Add(record(contentApplicationData, 1, make([]byte, 48)))
	f.Add(record(contentAlert, 0, []byte{2, 40}))
	f.Add([]byte("d1:ad2:id20:" + kadtest.RawID + "e1:q4:ping1:t2:aa1:y1:qe"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		in := bytes.Clone(b)
		d := Classify(b)
		if !bytes.Equal(in, b) {
			t.Fatal("Classify modified its input")
		}
		if Classify(b) != d {
			t.Fatal("Classify is not deterministic")
		}
		h, ok := readHello(b)
		if d.Kind != KindClientHello {
			return
		}
		const off = recordHeaderLen + handshakeHeaderLen + 2
		if b[0] != contentHandshake || d.Epoch != 0 || b[recordHeaderLen] != handshakeClientHello ||
			!bytes.Equal(d.Random[:], b[off:off+helloRandomLen]) {
			t.Fatalf("Classify(%x) = %+v: not a ClientHello or wrong random", b, d)
		}
		if !ok && (h.protos != nil || h.sessionID != nil) {
			t.Fatalf("readHello returned %+v with ok=false", h)
		}
	})
}
