package kad

import (
	"bytes"
	"errors"
	"testing"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/anacrolix/torrent/bencode"
)

// mustEncode encodes m after giving it a transaction ID, failing the test on
// error.
func mustEncode(t testing.TB, m *krpc.Msg) []byte {
	t.Helper()
	if m.T == "" {
		m.T = "aa"
	}
	b, err := EncodeMsg(m)
	if err != nil {
		t.Fatalf("EncodeMsg(%+v): %v", m, err)
	}
	return b
}

// wantMalformed asserts that err is a *MalformedError, matched by errors.Is
// too, and returns it.
func wantMalformed(t testing.TB, err error) *MalformedError {
	t.Helper()
	var me *MalformedError
	if !errors.As(err, &me) {
		t.Fatalf("error %v (%T) is not a *MalformedError", err, err)
	}
	if !errors.Is(err, ErrMalformed) {
		t.Fatalf("errors.Is(%v, ErrMalformed) is false", err)
	}
	return me
}

// encodeDecode encodes m, checks that the bytes are exactly what
// anacrolix's encoder writes, and decodes them again.
func encodeDecode(t *testing.T, m *krpc.Msg) ([]byte, *krpc.Msg) {
	t.Helper()
	b := mustEncode(t, m)
	if ref, err := bencode.Marshal(m); err != nil || !bytes.Equal(b, ref) {
		t.Fatalf("encoders disagree:\nours %q\nref  %q (err %v)", b, ref, err)
	}
	got, err := DecodeMsg(b)
	if err != nil {
		t.Fatalf("DecodeMsg(%q): %v", b, err)
	}
	return b, got
}
